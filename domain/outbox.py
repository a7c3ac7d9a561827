"""Emails the case rules ask to send, as data. The mail activity turns them into SMTP messages.

Every email carries an idempotency key, derived from the case and what it is about, so a
retried activity (or a replayed workflow) never puts the same message in an inbox twice.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.decisions import Email


class CalendarMethod(StrEnum):
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


class CalendarEvent(BaseModel):
    """A conference as an iCalendar event; a rebooking keeps the uid and raises the sequence."""

    model_config = ConfigDict(frozen=True)

    uid: str
    sequence: int = 0
    method: CalendarMethod = CalendarMethod.REQUEST
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    summary: str
    location: str = ""
    description: str = ""
    # None: nobody in the organizing role has an address; the invitation names its sender.
    organizer_email: Email | None = None


class EmailPurpose(StrEnum):
    INVITATION = "invitation"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    NOTICE = "notice"


class OutgoingEmail(BaseModel):
    model_config = ConfigDict(frozen=True)

    idempotency_key: Annotated[str, Field(min_length=1, max_length=300)]
    case_id: str
    purpose: EmailPurpose
    to: list[Email] = Field(min_length=1)
    cc: list[Email] = Field(default_factory=list)
    subject: str
    body: str
    calendar_event: CalendarEvent | None = None
