"""The emails a case sends: reminders, escalations, flags, invitations and cancellations.

Pure composition from the case state. Addresses come from the case's contacts (by role) or
the role's shared mailbox in the procedure. Idempotency keys name the case and what the mail
is about, so the same reminder is never sent twice however often the workflow asks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.calendar import LONDON
from domain.case_state import CaseState
from domain.decisions import Booking, Invitee
from domain.milestones import MilestoneState
from domain.outbox import CalendarEvent, CalendarMethod, EmailPurpose, OutgoingEmail


def when(at: datetime) -> str:
    return at.astimezone(LONDON).strftime("%A %d %B %Y at %H:%M")


def addresses_for(state: CaseState, roles: list[str]) -> tuple[list[str], list[str]]:
    """The addresses of ``roles`` on this case, and the roles nobody could be found for."""
    found: list[str] = []
    missing: list[str] = []
    for role in roles:
        people = [c.email for c in state.start.contacts if c.role == role]
        mailbox = state.procedure.role(role).mailbox
        emails = people or ([mailbox] if mailbox else [])
        if not emails:
            missing.append(role)
        found += [e for e in emails if e not in found]
    return found, missing


def booking_lines(booking: Booking) -> str:
    """A booked conference's date, time, format, venue and chair, a line each."""
    return (
        f"When: {when(booking.starts_at)}\nFormat: {booking.format.replace('_', ' ')}\n"
        + (f"Venue: {booking.venue}\n" if booking.venue else "")
        + f"Chair: {booking.chair}\n"
    )


# Said to people told of a decision they do not take (issue 22: "needs your decision" only to
# those who may decide).
FOR_INFORMATION = "You are copied for information: no decision is needed from you."


def _header(state: CaseState) -> str:
    return (
        f"Case reference: {state.start.case_reference}\n"
        f"Procedure: {state.procedure.title}\n"
        f"ICPC deadline (15 working days): {when(state.deadline)}\n"
    )


def milestone_email(
    state: CaseState, milestone: MilestoneState, purpose: EmailPurpose
) -> tuple[OutgoingEmail | None, list[str]]:
    """A reminder (before) or escalation (after) for one milestone; and roles with no address."""
    planned = milestone.planned
    assert planned.due is not None
    roles = planned.remind if purpose == EmailPurpose.REMINDER else planned.escalate_to
    to, missing = addresses_for(state, roles)
    if not to:
        return None, missing
    responsible = state.procedure.role(planned.responsible).title
    if purpose == EmailPurpose.REMINDER:
        subject = f"[ICPC {state.start.case_reference}] Due soon: {planned.title}"
        lead = f"This step is due by {when(planned.due)} and has not been recorded yet."
    else:
        subject = f"[ICPC {state.start.case_reference}] OVERDUE: {planned.title}"
        lead = f"This step was due by {when(planned.due)} and has not been recorded."
    body = (
        f"{lead}\n\nStep: {planned.title}\nResponsible: {responsible}\n"
        f"Recorded by: {', '.join(planned.satisfied_by)}\n\n{_header(state)}"
    )
    key = f"{state.case_id}/{purpose}/{planned.id}/{planned.due.isoformat()}"
    email = OutgoingEmail(
        idempotency_key=key,
        case_id=state.case_id,
        purpose=purpose,
        to=to,
        subject=subject,
        body=body,
    )
    return email, missing


def flag_email(
    state: CaseState, roles: list[str], topic: str, text: str, key: str
) -> tuple[OutgoingEmail | None, list[str]]:
    """A one-off notice to ``roles`` (short notice, capacity problem, delay requested...)."""
    to, missing = addresses_for(state, roles)
    if not to:
        return None, missing
    email = OutgoingEmail(
        idempotency_key=f"{state.case_id}/notice/{key}",
        case_id=state.case_id,
        purpose=EmailPurpose.NOTICE,
        to=to,
        subject=f"[ICPC {state.start.case_reference}] {topic}",
        body=f"{text}\n\n{_header(state)}",
    )
    return email, missing


def school_mailbox(state: CaseState, today_at: datetime) -> str | None:
    """Where school invitations go instead, during the procedure's school holidays."""
    rule = state.procedure.school_holidays
    if rule is None or state.booking is None:
        return None
    days = {today_at.astimezone(LONDON).date(), state.booking.starts_at.astimezone(LONDON).date()}
    if any(rule.covers(d) for d in days):
        return rule.school_invitations_to
    return None


def _calendar_event(state: CaseState, method: CalendarMethod) -> CalendarEvent:
    booking = state.booking
    assert booking is not None
    # The ICPC's responsible role organizes; with no address for it the invitation names none
    # and the mail activity puts in the mailbox it is sent from (ICPC_MAIL_FROM).
    organizer, _ = addresses_for(state, [state.procedure.milestone("icpc_deadline").responsible])
    return CalendarEvent(
        uid=f"{state.case_id}@icpc-orchestrator",
        sequence=state.booking_sequence,
        method=method,
        starts_at=booking.starts_at,
        ends_at=booking.starts_at + timedelta(minutes=booking.duration_minutes),
        summary=f"Initial Child Protection Conference — {state.start.case_reference}",
        location=booking.venue or booking.format.replace("_", " "),
        description=f"Format: {booking.format.replace('_', ' ')}. Chair: {booking.chair}.",
        organizer_email=organizer[0] if organizer else None,
    )


def invitation_emails(
    state: CaseState, now: datetime, method: CalendarMethod = CalendarMethod.REQUEST
) -> tuple[list[OutgoingEmail], list[Invitee]]:
    """One email per invitee (no one sees another's address); and invitees with no email."""
    booking = state.booking
    assert booking is not None and state.invitees is not None
    event = _calendar_event(state, method)
    schools_to = school_mailbox(state, now)
    if method == CalendarMethod.CANCEL and state.cancel_where_invited:
        schools_to = state.schools_invited_via  # where the invitation went, holidays or not
    verb = "Cancelled" if method == CalendarMethod.CANCEL else "Invitation"
    emails: list[OutgoingEmail] = []
    unreachable: list[Invitee] = []
    for index, invitee in enumerate(state.invitees):
        if invitee.is_school and schools_to:
            to, note = schools_to, "School holiday: sent to the education safeguarding mailbox.\n"
        elif invitee.email:
            to, note = invitee.email, ""
        else:
            unreachable.append(invitee)
            continue
        body = (
            f"Dear {invitee.name},\n\n"
            + (
                "The Initial Child Protection Conference below has been cancelled.\n"
                if method == CalendarMethod.CANCEL
                else "You are invited to an Initial Child Protection Conference.\n"
            )
            + f"\nWhen: {when(booking.starts_at)}\nFormat: {booking.format.replace('_', ' ')}\n"
            + (f"Venue: {booking.venue}\n" if booking.venue else "")
            + f"Invited as: {invitee.role_or_relationship}\n{note}\n{_header(state)}"
        )
        emails.append(
            OutgoingEmail(
                idempotency_key=(
                    f"{state.case_id}/{method.lower()}/{state.booking_sequence}/{index}"
                ),
                case_id=state.case_id,
                purpose=EmailPurpose.INVITATION,
                to=[to],
                subject=f"[ICPC {state.start.case_reference}] {verb}: Initial Child Protection"
                f" Conference, {when(booking.starts_at)}",
                body=body,
                calendar_event=event,
            )
        )
    return emails, unreachable
