"""The mail activity against a real SMTP server on loopback, and the mail sink.

Every address, name and venue here is invented.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from icalendar import Calendar
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import activities.mail as mail
from activities.ics import build_calendar
from activities.mail import SendEmailsResult, message_id_for, send_emails
from activities.mail_sink import start_mail_sink
from activities.outbox_ledger import OutboxLedger
from activities.settings import MailSettings
from domain.outbox import CalendarEvent, CalendarMethod, EmailPurpose, OutgoingEmail
from tests.conftest import MailCatcher, free_port

LONDON = ZoneInfo("Europe/London")
CASE = "case-TST-0001"


def event(**changes: Any) -> CalendarEvent:
    values: dict[str, Any] = {
        "uid": f"{CASE}@icpc-orchestrator",
        "sequence": 2,
        "starts_at": datetime(2026, 7, 1, 10, 30, tzinfo=LONDON),  # BST: 09:30 UTC
        "ends_at": datetime(2026, 7, 1, 12, 30, tzinfo=LONDON),
        "summary": "Initial Child Protection Conference — TST-0001",
        "location": "Room 4, Example House; Exampleton",
        "description": "Format: hybrid.\nChair: A. Chair, Safeguarding; bring reports\\notes",
        "organizer_email": "business.support@example.org",
    }
    values.update(changes)
    return CalendarEvent(**values)


def outgoing(number: int, *, to: str | None = None, **changes: Any) -> OutgoingEmail:
    values: dict[str, Any] = {
        "idempotency_key": f"{CASE}/request/2/{number}",
        "case_id": CASE,
        "purpose": EmailPurpose.INVITATION,
        "to": [to or f"invitee{number}@example.org"],
        "subject": f"[ICPC TST-0001] Conference invited #{number}",
        "body": f"Dear Invitee {number},\n\nYou are invited.\n",
    }
    values.update(changes)
    return OutgoingEmail(**values)


async def run(emails: list[OutgoingEmail]) -> SendEmailsResult:
    return await ActivityEnvironment().run(send_emails, emails)


def calendar_part(message: Message) -> Message:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def unfolded(ics: bytes) -> list[str]:
    text = ics.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # only CRLF line endings
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def properties(lines: list[str]) -> dict[str, str]:
    return {line.split(":", 1)[0].split(";", 1)[0]: line.split(":", 1)[1] for line in lines}


class RefusingCatcher(MailCatcher):
    """Refuses RCPT TO for the addresses in ``refuse``, as a real server does for bad mailboxes."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host=host, port=port)
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RefusingCatcher]:
    catcher = RefusingCatcher("127.0.0.1", free_port())
    controller = Controller(catcher, hostname=catcher.host, port=catcher.port)
    controller.start()
    monkeypatch.setenv("ICPC_SMTP_HOST", catcher.host)
    monkeypatch.setenv("ICPC_SMTP_PORT", str(catcher.port))
    monkeypatch.setenv("ICPC_OUTBOX_DB", str(tmp_path / "outbox.sqlite3"))
    try:
        yield catcher
    finally:
        controller.stop()


# --- the message and its invitation ------------------------------------------------------


async def test_invitation_arrives_with_a_parseable_calendar(smtp_server: MailCatcher) -> None:
    email = outgoing(1, cc=["cc.person@example.org"], calendar_event=event())

    result = await run([email])

    assert result.sent == [email.idempotency_key] and result.skipped == []
    [(mail_from, rcpts)] = smtp_server.envelopes
    assert mail_from == "icpc-bookings@localhost"
    assert rcpts == ["invitee1@example.org", "cc.person@example.org"]
    [message] = smtp_server.messages
    assert message["To"] == "invitee1@example.org"
    assert message["Cc"] == "cc.person@example.org"
    assert message["Subject"] == email.subject
    assert message["Message-ID"] == message_id_for(email.idempotency_key, "localhost")
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert text.get_payload(decode=True).decode().replace("\r\n", "\n") == email.body

    part = calendar_part(message)
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "invite.ics"
    lines = unfolded(part.get_payload(decode=True))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    props = properties(lines)
    assert props["METHOD"] == "REQUEST"
    assert props["VERSION"] == "2.0"
    assert props["UID"] == f"{CASE}@icpc-orchestrator"
    assert props["SEQUENCE"] == "2"
    assert props["DTSTART"] == "20260701T093000Z"  # 10:30 in London in summer
    assert props["DTEND"] == "20260701T113000Z"
    assert props["ORGANIZER"] == "mailto:business.support@example.org"
    assert props["STATUS"] == "CONFIRMED"
    datetime.strptime(props["DTSTAMP"], "%Y%m%dT%H%M%SZ")
    attendees = [line for line in lines if line.startswith("ATTENDEE")]
    assert [a.rsplit(":", 1)[1] for a in attendees] == [
        "invitee1@example.org",
        "cc.person@example.org",
    ]


async def test_text_is_escaped_and_long_lines_are_folded(smtp_server: MailCatcher) -> None:
    long_text = "Reports, plans; and notes é€ " * 12
    await run([outgoing(1, calendar_event=event(description=long_text))])

    raw = calendar_part(smtp_server.messages[0]).get_payload(decode=True)
    physical = raw.split(b"\r\n")
    assert max(len(line) for line in physical) <= 75
    assert any(line.startswith(b" ") for line in physical)  # folded
    raw.decode("utf-8")  # no character split across a fold
    props = properties(unfolded(raw))
    assert props["DESCRIPTION"].count("\\,") == 12  # escaped, then read back whole:
    assert Calendar.from_ical(raw).events[0]["DESCRIPTION"] == long_text
    assert props["LOCATION"] == "Room 4\\, Example House\\; Exampleton"
    assert props["SUMMARY"] == "Initial Child Protection Conference — TST-0001"


def test_escape_and_fold_by_the_rules() -> None:
    """The icalendar library escapes TEXT (RFC 5545 3.3.11) and folds at 75 octets."""
    description = "Line one\nLine two, with; marks\\ " + "é" * 100
    ics = build_calendar(event(description=description), dtstamp=datetime(2026, 1, 1, tzinfo=UTC))
    physical = ics.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in physical)
    unfolded_text = ics.replace("\r\n ", "")
    assert "DESCRIPTION:Line one\\nLine two\\, with\\; marks\\\\ " in unfolded_text
    assert "DTSTAMP:20260101T000000Z\r\n" in ics
    assert Calendar.from_ical(ics).events[0]["DESCRIPTION"] == description


async def test_a_cancellation_carries_method_cancel(smtp_server: MailCatcher) -> None:
    cancel = event(method=CalendarMethod.CANCEL, sequence=3)
    await run([outgoing(1, idempotency_key=f"{CASE}/cancel/3/0", calendar_event=cancel)])

    part = calendar_part(smtp_server.messages[0])
    assert part.get_param("method") == "CANCEL"
    props = properties(unfolded(part.get_payload(decode=True)))
    assert (props["METHOD"], props["STATUS"], props["SEQUENCE"]) == ("CANCEL", "CANCELLED", "3")


async def test_an_event_without_an_organizer_is_organized_by_the_sender(
    smtp_server: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICPC_MAIL_FROM", "icpc.bookings@council.example.org")
    await run([outgoing(1, calendar_event=event(organizer_email=None))])

    [(mail_from, _)] = smtp_server.envelopes
    ics = calendar_part(smtp_server.messages[0]).get_payload(decode=True)
    assert isinstance(ics, bytes)
    props = properties(unfolded(ics))
    assert mail_from == "icpc.bookings@council.example.org"
    assert props["ORGANIZER"] == "mailto:icpc.bookings@council.example.org"


async def test_an_email_without_an_event_has_no_calendar(smtp_server: MailCatcher) -> None:
    await run([outgoing(1, purpose=EmailPurpose.REMINDER)])
    [message] = smtp_server.messages
    assert message.get_content_type() == "text/plain"


# --- idempotency -------------------------------------------------------------------------


async def test_the_same_emails_twice_are_sent_once(smtp_server: MailCatcher) -> None:
    emails = [outgoing(n, calendar_event=event()) for n in range(3)]

    first = await run([*emails, emails[0]])  # a repeated key in one batch, too
    second = await run(emails)

    keys = [e.idempotency_key for e in emails]
    assert first.sent == keys and first.skipped == []
    assert second.sent == [] and second.skipped == keys
    assert len(smtp_server.messages) == 3
    assert len({m["Message-ID"] for m in smtp_server.messages}) == 3


async def test_a_refused_recipient_does_not_hold_back_the_others(
    refusing_server: RefusingCatcher,
) -> None:
    emails = [outgoing(n) for n in range(3)]
    refusing_server.refuse = {"invitee1@example.org"}

    with pytest.raises(ApplicationError) as failure:
        await run(emails)

    assert failure.value.type == "SmtpRefused"
    assert failure.value.non_retryable  # 5xx: a person must fix the address
    assert "@example.org" not in str(failure.value)  # no address in workflow history
    assert refusing_server.subjects() == [emails[0].subject, emails[2].subject]

    refusing_server.refuse = set()  # the mailbox was fixed
    retry = await run(emails)

    assert retry.sent == [emails[1].idempotency_key]
    assert sorted(retry.skipped) == sorted([emails[0].idempotency_key, emails[2].idempotency_key])
    assert sorted(refusing_server.subjects()) == sorted(e.subject for e in emails)


async def test_a_failure_half_way_is_retried_without_repeats(
    smtp_server: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    emails = [outgoing(n, calendar_event=event()) for n in range(3)]
    real_deliver = mail.deliver
    calls = 0

    def flaky(smtp: smtplib.SMTP, message: EmailMessage, *args: Any) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return real_deliver(smtp, message, *args)

    monkeypatch.setattr(mail, "deliver", flaky)
    with pytest.raises(ApplicationError) as failure:
        await run(emails)
    assert failure.value.type == "SmtpFailed" and not failure.value.non_retryable
    assert smtp_server.subjects() == [emails[0].subject]

    retry = await run(emails)  # what Temporal does next

    assert retry.skipped == [emails[0].idempotency_key]
    assert retry.sent == [emails[1].idempotency_key, emails[2].idempotency_key]
    assert smtp_server.subjects() == [e.subject for e in emails]


async def test_an_unreachable_server_is_a_retryable_failure(
    smtp_server: MailCatcher, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ICPC_SMTP_PORT", str(free_port()))  # nothing listens there

    with pytest.raises(ApplicationError) as failure:
        await run([outgoing(1)])

    assert failure.value.type == "SmtpUnreachable" and not failure.value.non_retryable
    with OutboxLedger(tmp_path / "outbox.sqlite3") as ledger:
        assert ledger.count() == 0


async def test_logs_name_keys_and_counts_never_addresses(smtp_server: MailCatcher) -> None:
    emails = [outgoing(n, calendar_event=event()) for n in range(2)]
    with capture_logs() as logs:
        await run(emails)
        await run(emails)

    assert {e["event"] for e in logs} >= {"email_sent", "email_already_sent", "emails_done"}
    assert all(e.get("activity") == "send_emails" and e.get("case_id") == CASE for e in logs)
    text = repr(logs)
    assert "@example.org" not in text and "Dear" not in text and "Invitee" not in text
    assert emails[0].idempotency_key in text


def test_settings_come_from_the_environment() -> None:
    settings = MailSettings.from_environment(
        {
            "ICPC_SMTP_HOST": "smtp.example.org",
            "ICPC_SMTP_PORT": "587",
            "ICPC_SMTP_STARTTLS": "yes",
            "ICPC_SMTP_USERNAME": "icpc",
            "ICPC_SMTP_PASSWORD": "not-a-real-secret",
            "ICPC_MAIL_FROM": "bookings@example.org",
            "ICPC_OUTBOX_DB": "/tmp/outbox.sqlite3",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "smtp.example.org",
        587,
        True,
    )
    assert "not-a-real-secret" not in repr(settings)
    assert settings.mail_domain == "example.org"
    defaults = MailSettings.from_environment({})
    assert (defaults.smtp_host, defaults.smtp_port, defaults.mail_from) == (
        "127.0.0.1",
        8025,
        "icpc-bookings@localhost",
    )
    # The ledger lives in the case record database unless ICPC_OUTBOX_DB names its own file.
    assert defaults.database_url == "sqlite:///var/icpc-records.sqlite3"
    assert defaults.outbox_db == defaults.database_url
    assert settings.outbox_db == "/tmp/outbox.sqlite3"
    shared = MailSettings.from_environment({"ICPC_DATABASE_URL": "postgresql+psycopg://db/icpc"})
    assert shared.outbox_db == "postgresql+psycopg://db/icpc"


async def test_bad_settings_fail_without_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICPC_SMTP_PORT", "not-a-port")
    with pytest.raises(ApplicationError) as failure:
        await run([outgoing(1)])
    assert failure.value.type == "MailSettingsInvalid" and failure.value.non_retryable


# --- the mail sink -----------------------------------------------------------------------


async def test_the_mail_sink_keeps_each_mail_as_an_eml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    folder = tmp_path / "mail"
    sink = start_mail_sink(folder, "127.0.0.1", port)
    monkeypatch.setenv("ICPC_SMTP_PORT", str(port))
    monkeypatch.setenv("ICPC_OUTBOX_DB", str(tmp_path / "outbox.sqlite3"))
    try:
        emails = [outgoing(n, calendar_event=event()) for n in range(3)]
        await run(emails)
    finally:
        sink.stop()

    files = sorted(folder.glob("*.eml"))
    assert len(files) == 3
    assert not list(folder.glob("*.part"))
    saved = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert [m["Subject"] for m in saved] == [e.subject for e in emails]  # sorted by arrival
    assert calendar_part(saved[0]).get_filename() == "invite.ics"


def test_the_mail_sink_listens_on_loopback_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_mail_sink(tmp_path, "0.0.0.0", free_port())
