"""Form fields, and the readers that turn what was typed into payload values.

The pieces the decision forms (:mod:`web.forms`) are built from: a field, a plain reason box,
the conference booking, the convening sheet's invitees, "when was it held". A reader raises
:class:`Invalid` naming the field when what was typed cannot be read (a date that is not one);
everything else is for the payload model to judge.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from domain.calendar import london_instant
from domain.decisions import ConferenceFormat

Values = Mapping[str, str]
Build = Callable[[Values], dict[str, Any]]  # typed values -> the decision's payload fields
Locations = dict[tuple[Any, ...], str]  # a pydantic error location prefix -> field name


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, textarea, date, time, number, email, tel, radios, select, checkbox
    required: bool = False
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    default: str = ""
    group: str = ""  # fields sharing a group are shown together in one fieldset
    autocomplete: str = "off"

    @property
    def id(self) -> str:
        return f"f-{self.name}"

    @property
    def first_id(self) -> str:
        """Where an error link should land: the field, or its first option."""
        return f"{self.id}-0" if self.kind == "radios" else self.id


class Invalid(ValueError):
    """What was typed in ``field_name`` cannot be read; the message says how to put it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


def reason(label: str, required: bool = False, hint: str = "") -> Field:
    return Field("reason", label, "textarea", required=required, hint=hint)


NOTES = reason("Notes (optional)")


def copied(*names: str) -> Build:
    """A payload made of the named fields, as typed."""

    def build(values: Values) -> dict[str, Any]:
        return {name: values.get(name, "") for name in names}

    return build


def read_date(values: Values, name: str, label: str) -> date | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(name, f"{label} must be a real date, like 2027-03-14") from None


def read_time(values: Values, name: str, label: str) -> time | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise Invalid(name, f"{label} must be a time of day, like 10:30") from None


# --- a conference booking (the ICPC, a review) ---------------------------------------------------

BOOKING_FIELDS = (
    Field("date", "Date of the conference", "date", required=True),
    Field("time", "Start time", "time", required=True, hint="UK time, for example 10:00"),
    Field("duration_minutes", "Length in minutes", "number", required=True, default="120"),
    Field(
        "format",
        "How will people attend?",
        "radios",
        required=True,
        options=(
            (ConferenceFormat.IN_PERSON.value, "In person"),
            (ConferenceFormat.HYBRID.value, "Hybrid (in person and online)"),
            (ConferenceFormat.VIRTUAL.value, "Online only"),
        ),
    ),
    Field("venue", "Venue", hint="Leave empty for an online-only conference"),
    Field("chair", "Chair", required=True, hint="The chair's name"),
)

BOOKING_LOCATIONS: Locations = {
    ("booking", "starts_at"): "date",
    ("booking", "duration_minutes"): "duration_minutes",
    ("booking", "format"): "format",
    ("booking", "venue"): "venue",
    ("booking", "chair"): "chair",
}


def booking(values: Values) -> dict[str, Any]:
    day = read_date(values, "date", "The date of the conference")
    at = read_time(values, "time", "The start time")
    assert day is not None and at is not None  # required fields, checked before
    try:
        minutes = int(values.get("duration_minutes", "").strip())
    except ValueError:
        raise Invalid("duration_minutes", "The length must be a whole number of minutes") from None
    return {
        "starts_at": london_instant(day, at),
        "duration_minutes": minutes,
        "format": values.get("format", ""),
        "venue": values.get("venue", ""),
        "chair": values.get("chair", ""),
    }


def booked(values: Values) -> dict[str, Any]:
    """A decision that books a conference: the booking and the notes."""
    return {"booking": booking(values), "reason": values.get("reason", "")}


# --- when a meeting was held -----------------------------------------------------------------


def held_fields(what: str, hint: str) -> tuple[Field, Field]:
    return (
        Field("held_date", f"Date {what} was held (optional)", "date", hint=hint),
        Field("held_time", "Time it started (optional)", "time"),
    )


def held_at(values: Values) -> datetime | None:
    """The date and time it was held, both or neither."""
    day = read_date(values, "held_date", "The date it was held")
    at = read_time(values, "held_time", "The time it started")
    if day is None and at is not None:
        raise Invalid("held_date", "Enter the date it was held, or no time")
    if day is not None and at is None:
        raise Invalid("held_time", "Enter the time it started")
    return london_instant(day, at) if day and at else None


# --- the convening sheet's invitees ----------------------------------------------------------

INVITEE_ROWS = 4
INVITEE_PARTS = (
    ("name", "Name", "text"),
    ("role_or_relationship", "Role or relationship to the child", "text"),
    ("agency", "Agency", "text"),
    ("email", "Email address", "email"),
    ("telephone", "Telephone", "tel"),
    ("postal_address", "Postal address", "textarea"),
    ("is_school", "This invitee is the child's school", "checkbox"),
)

INVITEE_FIELDS = tuple(
    Field(
        f"invitee{row}_{part}",
        label,
        kind,
        group=f"Invitee {row}" + ("" if row > 1 else " (at least one)"),
    )
    for row in range(1, INVITEE_ROWS + 1)
    for part, label, kind in INVITEE_PARTS
)


def invitees(values: Values) -> dict[str, Any]:
    people = []
    for row in range(1, INVITEE_ROWS + 1):
        typed = {
            part: values.get(f"invitee{row}_{part}", "").strip() for part, _, _ in INVITEE_PARTS
        }
        if not any(v for k, v in typed.items() if k != "is_school"):
            continue
        for part in ("name", "role_or_relationship"):
            if not typed[part]:
                label = "name" if part == "name" else "role or relationship"
                raise Invalid(f"invitee{row}_{part}", f"Enter invitee {row}'s {label}")
        people.append(
            {
                "name": typed["name"],
                "role_or_relationship": typed["role_or_relationship"],
                "agency": typed["agency"],
                "email": typed["email"] or None,
                "telephone": typed["telephone"] or None,
                "postal_address": typed["postal_address"] or None,
                "is_school": bool(typed["is_school"]),
            }
        )
    if not people:
        raise Invalid("invitee1_name", "Enter at least one invitee")
    return {"invitees": people, "reason": values.get("reason", "")}


def invitee_location(loc: tuple[Any, ...], values: Values) -> str | None:
    """The field behind a payload error about the nth invitee (the nth filled row)."""
    if len(loc) < 3 or loc[0] != "invitees" or not isinstance(loc[1], int):
        return None
    filled = [
        row
        for row in range(1, INVITEE_ROWS + 1)
        if any(values.get(f"invitee{row}_{p}", "").strip() for p, _, _ in INVITEE_PARTS[:-1])
    ]
    if loc[1] >= len(filled):
        return None
    return f"invitee{filled[loc[1]]}_{loc[2]}"
