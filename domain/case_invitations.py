"""A case's invitations: sent once both the booking and the invite list are in, with the
procedure's notice checked as they go; cancelled when the conference is withdrawn or stood down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.case_state import CaseState
from domain.decisions import Booking
from domain.notices import invitation_emails, school_mailbox
from domain.outbox import CalendarMethod, OutgoingEmail
from domain.path import Effects, flag, satisfy
from domain.path import day_of as _day
from domain.procedure import Enforcement
from domain.vocabulary import DecisionKind, SystemEvent


def notice_shortfall(state: CaseState, booking: Booking, now: datetime) -> str | None:
    notice = state.procedure.invitation_notice
    if notice is None:
        return None
    today, day = _day(now), _day(booking.starts_at)
    if notice.working_days is not None:
        given = state.calendar.working_days_between(today, day)
        needed, unit = notice.working_days, "working days'"
    else:
        given = (day - today).days
        needed, unit = notice.days or 0, "days'"
    if given >= needed:
        return None
    return (
        f"Invitees must have at least {needed} {unit} notice; a conference on"
        f" {day:%d %B %Y} gives {given}."
    )


def cancel_invitations(state: CaseState, now: datetime, fx: Effects) -> None:
    if state.invitations_sent_sequence is not None and state.booking is not None:
        emails, _ = invitation_emails(state, now, CalendarMethod.CANCEL)
        fx.emails += emails


def invitations_due(state: CaseState) -> bool:
    """Both the booking and the invite list are in, and this booking's invitations are not out."""
    return (
        state.is_open
        and state.booking is not None
        and state.invitees is not None
        and state.invitations_sent_sequence != state.booking_sequence
        and state.invitations_held_sequence != state.booking_sequence
        # 003: "Send the details to the Duty PO for safety screening. Send the invites for
        # either a hybrid or virtual meeting": on the method the screening chose.
        and not state.method_pending
    )


@dataclass
class Invitations:
    """What sending a booking's invitations comes to: the emails to send (invitations and any
    notice), and how many invitations are among them (none when they were held back)."""

    emails: list[OutgoingEmail] = field(default_factory=list)
    count: int = 0
    short: str = ""  # the notice shortfall, when there is one


def send_invitations(state: CaseState, now: datetime) -> Invitations:
    """The invitations for the current booking, with the procedure's notice checked at the
    moment they go out (001 step 8: "no ICPC can be convened without giving parents and other
    professionals at least 5 days' notice"): a booking made early and a convening sheet received
    late must not send them short. Refused: none is sent, and the bookers and the roles the
    procedure names are told to rebook. Flagged: they go, and those roles are told."""
    notice = state.procedure.invitation_notice
    assert state.booking is not None
    shortfall = notice_shortfall(state, state.booking, now)
    if notice is None or shortfall is None:
        emails = prepare_invitations(state, now)
        return Invitations(emails=emails, count=len(emails))
    fx = Effects(key=f"invitations/{state.booking_sequence}/")
    bookers = [
        *state.procedure.roles_for(DecisionKind.BOOK_CONFERENCE),
        *state.procedure.roles_for(DecisionKind.REBOOK_CONFERENCE),
    ]
    if notice.enforcement == Enforcement.REFUSE:
        state.invitations_held_sequence = state.booking_sequence
        roles = list(dict.fromkeys([*notice.escalate_to, *bookers]))
        text = (
            f"The invitations were NOT sent. {shortfall} Stand the conference down and rebook"
            " it on a date that gives enough notice."
        )
        flag(state, fx, roles, "Invitations not sent: too little notice", text, "held")
        state.record(
            now,
            "invitations_held",
            f"Invitations not sent: {shortfall}",
            data={"notified": fx.notified},
        )
        _record_notes(state, fx, now)
        return Invitations(emails=fx.emails, short=shortfall)
    emails = prepare_invitations(state, now)
    # Booked today: the booking already told them of this same shortfall.
    if state.booked_at is None or _day(state.booked_at) != _day(now):
        text = f"The invitations went out with too little notice. {shortfall}"
        flag(state, fx, notice.escalate_to, "Short notice for invitees", text, "short")
        _record_notes(state, fx, now)
    return Invitations(emails=[*emails, *fx.emails], count=len(emails), short=shortfall)


def _record_notes(state: CaseState, fx: Effects, now: datetime) -> None:
    for event, text in fx.notes:
        state.record(now, event, text)


def prepare_invitations(state: CaseState, now: datetime) -> list[OutgoingEmail]:
    emails, unreachable = invitation_emails(state, now)
    state.schools_invited_via = school_mailbox(state, now)
    if unreachable:
        state.record(
            now,
            "warning",
            f"{len(unreachable)} invitee(s) have no email: invite them by phone or post",
        )
    return emails


def invitations_sent(state: CaseState, now: datetime, count: int, short: str = "") -> None:
    state.invitations_sent_sequence = state.booking_sequence
    state.record(
        now,
        SystemEvent.INVITATIONS_SENT,
        f"Invitations sent to {count} recipient(s)" + (f", short notice: {short}" if short else ""),
        data={"invitations": count},
    )
    satisfy(state, SystemEvent.INVITATIONS_SENT, now)
