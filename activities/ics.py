"""iCalendar (RFC 5545) invitations: one VEVENT in an iTIP (RFC 5546) message, written by the
``icalendar`` library (escaping, CRLF line endings and folding at 75 octets are its job).

A conference keeps one UID for the whole case; each rebooking raises SEQUENCE, so a calendar
that has the first invitation updates that entry (METHOD:REQUEST) or removes it
(METHOD:CANCEL with STATUS:CANCELLED) instead of adding a second one.

Times are written in UTC (``DTSTART:20260701T093000Z``), not as Europe/London with a VTIMEZONE.
A conference is one event, never a recurring one, so a UTC instant loses nothing, and it is the
form every client reads the same way: Outlook (desktop, web and Exchange), Google and Apple all
show it in the reader's own zone, whereas a TZID is only as good as the client's matching of the
VTIMEZONE beside it (Outlook maps zones to its own Windows names).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress

from domain.outbox import CalendarEvent, CalendarMethod

PRODID = "-//icpc-orchestrator//ICPC bookings//EN"


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive time is refused (it would be read as floating)."""
    if moment.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return moment.astimezone(UTC)


def _address(email: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    for name, value in params.items():
        address.params[name] = value
    return address


def build_event(
    event: CalendarEvent,
    *,
    sender: str | None = None,
    attendees: Sequence[str] = (),
    dtstamp: datetime | None = None,
) -> Event:
    """The conference as one VEVENT, organized by the event's organizer or else by ``sender``
    (the mailbox the invitation comes from): iTIP requires an organizer."""
    organizer = event.organizer_email or sender
    if not organizer:
        raise ValueError("a calendar invitation needs an organizer or a sender")
    cancelled = event.method == CalendarMethod.CANCEL
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", utc(dtstamp or datetime.now(UTC)))
    vevent.add("dtstart", utc(event.starts_at))
    vevent.add("dtend", utc(event.ends_at))
    vevent.add("summary", event.summary)
    if event.location:
        vevent.add("location", event.location)
    if event.description:
        vevent.add("description", event.description)
    vevent.add("organizer", _address(organizer))
    for attendee in attendees:
        vevent.add(
            "attendee",
            _address(attendee, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="FALSE"),
        )
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    return vevent


def build_calendar(
    event: CalendarEvent,
    *,
    sender: str | None = None,
    attendees: Sequence[str] = (),
    dtstamp: datetime | None = None,
) -> str:
    """The whole VCALENDAR object as text with CRLF line endings (ready to attach)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", event.method.value)
    calendar.add_component(build_event(event, sender=sender, attendees=attendees, dtstamp=dtstamp))
    text: bytes = calendar.to_ical()
    return text.decode("utf-8")
