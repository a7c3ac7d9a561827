"""Calendar invitations as they are really sent, read back with the ``icalendar`` library.

A whole case on the time-skipping test server sends its invitations through a real SMTP server
on loopback: booked (REQUEST), stood down (CANCEL) and moved (REQUEST again). Each attendee's
calendar keeps one entry: the same UID throughout, a higher SEQUENCE for the move. The product's
own mail sink (``icpc mailsink``) keeps what the mail activity sent as ``.eml`` files, and each
file's ``invite.ics`` is what Outlook would open. Every name and address here is invented.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar, Event
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.mail import send_emails
from activities.mail_sink import start_mail_sink
from domain.calendar import LONDON
from domain.outbox import CalendarEvent, CalendarMethod, EmailPurpose, OutgoingEmail
from tests.case_helpers import (
    RunningCase,
    book,
    booking,
    decision,
    invitees,
    procedure,
    rebook_reason,
    start_running_case,
    unique,
)
from tests.conftest import MailCatcher, free_port
from workers.main import build_worker

BCT = "bct-management-note"
ORGANIZER = "business.support@example.org"


def calendar_of(message: Message) -> tuple[str, Calendar]:
    """The one ``text/calendar`` part: its Content-Type method, and the calendar parsed."""
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, "expected one calendar part"
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert payload.endswith(b"\r\n") and b"\n" not in payload.replace(b"\r\n", b"")
    assert max(len(line) for line in payload.split(b"\r\n")) <= 75  # folded by the rules
    return str(parts[0].get_param("method")), Calendar.from_ical(payload)


def the_event(calendar: Calendar) -> Event:
    [event] = calendar.events
    return event


def attendees(event: Event) -> list[str]:
    return [str(a).removeprefix("mailto:") for a in event.attendees]


def check_outlook_friendly(content_method: str, calendar: Calendar) -> Event:
    """What Outlook is strict about: METHOD on the part and in the body, and the same; one
    VEVENT with UID, SEQUENCE, DTSTAMP and an ORGANIZER; every time an exact UTC instant (no
    floating time, no TZID that would need a VTIMEZONE)."""
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    assert calendar["METHOD"] == content_method
    assert not calendar.walk("VTIMEZONE")
    event = the_event(calendar)
    for name in ("DTSTART", "DTEND", "DTSTAMP"):
        moment = event.decoded(name)
        assert isinstance(moment, datetime) and moment.utcoffset() == timedelta(0), name
        assert "TZID" not in event[name].params
    assert str(event["ORGANIZER"]).startswith("mailto:")
    assert event["UID"] and event.get("SEQUENCE") is not None
    return event


# --- a whole case: booked, stood down, moved ---------------------------------------------------


@pytest.fixture
async def worker(
    time_skipping_env: WorkflowEnvironment, smtp_server: MailCatcher
) -> AsyncIterator[Worker]:
    async with build_worker(time_skipping_env.client, task_queue=unique("ics")) as w:
        yield w


def sent_calendars(mail: MailCatcher) -> list[tuple[str, Calendar, list[str]]]:
    """Every invitation the case sent, in order: (part method, calendar, envelope recipients)."""
    found = []
    for message, (_, rcpts) in zip(mail.messages, mail.envelopes, strict=True):
        if any(p.get_content_type() == "text/calendar" for p in message.walk()):
            method, calendar = calendar_of(message)
            found.append((method, calendar, rcpts))
    return found


async def test_a_moved_conference_keeps_its_uid_with_a_higher_sequence(
    time_skipping_env: WorkflowEnvironment, worker: Worker, smtp_server: MailCatcher
) -> None:
    env = time_skipping_env
    proc = procedure(BCT)
    strategy = (await env.get_current_time() - timedelta(minutes=10)).astimezone(LONDON)
    case: RunningCase = await start_running_case(
        env, proc, strategy, worker.task_queue, unique("ICS")
    )
    try:
        state = await case.signal(decision(proc, "confirm_icpc"))
        state = await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
        day_10 = state.calendar.add_working_days(state.strategy_day, 10)
        state = await case.signal(book(proc, day_10))
        assert state.booking is not None
        first_start = state.booking.starts_at
        await case.signal(
            decision(proc, "stand_down", stand_down_reason=rebook_reason(proc), reason="Chair ill")
        )
        day_13 = state.calendar.add_working_days(state.strategy_day, 13)
        state = await case.signal(
            decision(proc, "rebook_conference", booking=booking(day_13, time(14, 0)))
        )
        assert state.booking is not None
        moved_start = state.booking.starts_at
    finally:
        await case.clean_up()

    sent = sent_calendars(smtp_server)
    requests = [(c, r) for m, c, r in sent if m == "REQUEST"]
    cancels = [(c, r) for m, c, r in sent if m == "CANCEL"]
    assert len(requests) == 4 and len(cancels) == 2  # two invitees, three times over
    events = [check_outlook_friendly(m, c) for m, c, _ in sent]
    uid = f"{case.handle.id}@icpc-orchestrator"
    assert {str(e["UID"]) for e in events} == {uid}  # one calendar entry per attendee

    first, moved = requests[:2], requests[2:]
    for calendar, rcpts in first:
        event = the_event(calendar)
        assert event.decoded("DTSTART") == first_start.astimezone(UTC)
        assert event["STATUS"] == "CONFIRMED"
        assert attendees(event) == rcpts  # each invitee's own invitation names them
    first_sequence = the_event(first[0][0]).sequence

    for calendar, _ in cancels:
        event = the_event(calendar)
        assert event["STATUS"] == "CANCELLED"
        # Newer than the invitation it withdraws (RFC 5546 2.1.5: SEQUENCE, then DTSTAMP).
        assert (event.sequence, event.decoded("DTSTAMP")) >= (
            first_sequence,
            the_event(first[0][0]).decoded("DTSTAMP"),
        )

    for calendar, _ in moved:
        event = the_event(calendar)
        assert event.sequence > first_sequence
        assert event.decoded("DTSTART") == moved_start.astimezone(UTC)
        assert event.decoded("DTSTART") != first_start.astimezone(UTC)
        assert event["STATUS"] == "CONFIRMED"
    assert moved_start.astimezone(LONDON).time() == time(14, 0)


# --- the mail activity into the product's mail sink ---------------------------------------------


def invitation(number: int, **changes: Any) -> OutgoingEmail:
    event: dict[str, Any] = {
        "uid": "case-TST-0002@icpc-orchestrator",
        "sequence": 3,
        "starts_at": datetime(2026, 7, 1, 10, 30, tzinfo=LONDON),  # BST: 09:30 UTC
        "ends_at": datetime(2026, 7, 1, 12, 30, tzinfo=LONDON),
        "summary": "Initial Child Protection Conference — TST-0002",
        "location": "Room 4, Example House; Exampleton",
        "description": "Format: hybrid.\nChair: A. Chair; bring reports, notes \\ plans " * 3,
        "organizer_email": ORGANIZER,
    }
    event.update(changes)
    return OutgoingEmail(
        idempotency_key=f"case-TST-0002/{event.get('method', 'REQUEST')}/{number}",
        case_id="case-TST-0002",
        purpose=EmailPurpose.INVITATION,
        to=[f"invitee{number}@example.org"],
        cc=["copy@example.org"],
        subject=f"[ICPC TST-0002] Conference #{number}",
        body="You are invited.\n",
        calendar_event=CalendarEvent(**event),
    )


async def through_the_sink(
    emails: list[OutgoingEmail], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[Message]:
    port = free_port()
    folder = tmp_path / "mail"
    sink = start_mail_sink(folder, "127.0.0.1", port)
    monkeypatch.setenv("ICPC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ICPC_SMTP_PORT", str(port))
    monkeypatch.setenv("ICPC_OUTBOX_DB", str(tmp_path / "outbox.sqlite3"))
    try:
        await ActivityEnvironment().run(send_emails, emails)
    finally:
        sink.stop()
    files = sorted(folder.glob("*.eml"))
    assert len(files) == len(emails)
    return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


async def test_the_sent_invitation_reads_back_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = invitation(1)
    [message] = await through_the_sink([email], tmp_path, monkeypatch)

    method, calendar = calendar_of(message)
    assert method == "REQUEST"
    event = check_outlook_friendly(method, calendar)
    expected = email.calendar_event
    assert expected is not None
    assert str(event["UID"]) == expected.uid and event.sequence == 3
    assert event.decoded("DTSTART") == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 7, 1, 11, 30, tzinfo=UTC)
    # Commas, semicolons, backslashes and newlines survive escaping and folding.
    assert event["SUMMARY"] == expected.summary
    assert event["LOCATION"] == expected.location
    assert event["DESCRIPTION"] == expected.description
    assert str(event["ORGANIZER"]) == f"mailto:{ORGANIZER}"
    assert attendees(event) == ["invitee1@example.org", "copy@example.org"]
    attendee = event.attendees[0]
    assert (attendee.params["ROLE"], attendee.params["PARTSTAT"]) == (
        "REQ-PARTICIPANT",
        "NEEDS-ACTION",
    )
    assert event["STATUS"] == "CONFIRMED" and event["TRANSP"] == "OPAQUE"


async def test_a_cancellation_removes_the_same_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = invitation(1)
    cancel = invitation(2, method=CalendarMethod.CANCEL, sequence=4)
    sent = await through_the_sink([request, cancel], tmp_path, monkeypatch)

    (m1, c1), (m2, c2) = (calendar_of(m) for m in sent)
    first, second = check_outlook_friendly(m1, c1), check_outlook_friendly(m2, c2)
    assert (m1, m2) == ("REQUEST", "CANCEL")
    assert str(first["UID"]) == str(second["UID"])
    assert second.sequence > first.sequence
    assert second["STATUS"] == "CANCELLED"
