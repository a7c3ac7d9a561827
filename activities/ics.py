"""iCalendar (RFC 5545) invitations, written by hand: one VEVENT in an iTIP (RFC 5546) message.

Lines end in CRLF, are folded at 75 octets (never inside a UTF-8 character), and TEXT values
escape backslashes, commas, semicolons and newlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from domain.outbox import CalendarEvent, CalendarMethod

PRODID = "-//icpc-orchestrator//ICPC bookings//EN"
CRLF = "\r\n"
MAX_OCTETS = 75


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11): backslash first, then ; , and newlines."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold one content line so no physical line exceeds 75 octets (CRLF not counted)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= MAX_OCTETS:
        return line
    parts: list[str] = []
    start, limit = 0, MAX_OCTETS
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        # Step back off UTF-8 continuation bytes so a character is never split.
        while end < len(encoded) and end > start and (encoded[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(encoded[start:end].decode("utf-8"))
        start, limit = end, MAX_OCTETS - 1  # continuation lines begin with one space
    return (CRLF + " ").join(parts)


def utc_stamp(moment: datetime) -> str:
    """A DATE-TIME in UTC form, e.g. 20261217T140000Z."""
    if moment.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _mailto(address: str) -> str:
    return f"mailto:{address}"


def build_calendar(
    event: CalendarEvent, *, attendees: Sequence[str] = (), dtstamp: datetime | None = None
) -> str:
    """The whole VCALENDAR object as text with CRLF line endings (ready to attach)."""
    stamp = dtstamp or datetime.now(UTC)
    cancelled = event.method == CalendarMethod.CANCEL
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{event.method.value}",
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"SEQUENCE:{event.sequence}",
        f"DTSTAMP:{utc_stamp(stamp)}",
        f"DTSTART:{utc_stamp(event.starts_at)}",
        f"DTEND:{utc_stamp(event.ends_at)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    lines.append(f"ORGANIZER:{_mailto(event.organizer_email)}")
    lines += [
        f"ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:{_mailto(a)}"
        for a in attendees
    ]
    lines += [
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + CRLF for line in lines)
