"""Form fields, and the readers that turn what was typed into payload values.

The pieces the decision forms (:mod:`web.forms`) are built from: a field, a plain reason box,
the conference booking, the convening sheet's invitees, "when was it held". A reader raises
:class:`Invalid` naming the field when what was typed cannot be read (a date that is not one);
everything else is for the payload model to judge.
"""

from __future__ import annotations

import re
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
    # text, textarea, date (day, month, year), time, number, email, tel, radios, select,
    # checkbox, hidden
    kind: str = "text"
    required: bool = False
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()
    default: str = ""
    group: str = ""  # fields sharing a group are shown together in one fieldset
    autocomplete: str = "off"
    empty: str = ""  # radios whose options the case gives: what to say when there are none
    # The error when a required field is left empty, written for the question (the Design
    # System's "Enter why a delay is needed", not one generated from the label).
    missing: str = ""
    # The error when what was typed is not what the question needs (too long, not an email ...).
    wrong: str = ""
    max_length: int | None = None  # a textarea's limit, shown by the character count
    repeat: str = ""  # a row of an "add another" list ("invitee") ...
    row: int = 0  # ... and which row, from 1

    @property
    def id(self) -> str:
        return f"f-{self.name}"

    @property
    def first_id(self) -> str:
        """Where an error link should land: the field, its first option, a date's day."""
        if self.kind == "radios":
            return f"{self.id}-0"
        if self.kind == "date":
            return f"{self.id}-day"
        return self.id


class Invalid(ValueError):
    """What was typed in ``field_name`` cannot be read; the message says how to put it.
    ``parts``: of a date, the ones in error (the error link goes to the first)."""

    def __init__(self, field_name: str, message: str, parts: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.parts = parts


TEXT_LIMIT = 4000  # domain.decisions.Text


def reason(label: str, required: bool = False, hint: str = "", missing: str = "") -> Field:
    return Field(
        "reason",
        label,
        "textarea",
        required=required,
        hint=hint,
        missing=missing,
        wrong=f"{label.rstrip('?')} must be {TEXT_LIMIT} characters or fewer",
        max_length=TEXT_LIMIT,
    )


NOTES = reason("Notes (optional)")


def copied(*names: str) -> Build:
    """A payload made of the named fields, as typed."""

    def build(values: Values) -> dict[str, Any]:
        return {name: values.get(name, "") for name in names}

    return build


DATE_PARTS = ("day", "month", "year")


def date_values(raw: Mapping[str, Any], name: str) -> dict[str, str]:
    """A date field's three boxes as typed (``name-day``, ``name-month``, ``name-year``), and
    under ``name`` the date they make, as ``YYYY-MM-DD``, when all three are filled in. A client
    that posts ``name`` whole (``2027-03-27``) instead of the boxes is read as well."""
    typed = {f"{name}-{part}": str(raw.get(f"{name}-{part}", "")).strip() for part in DATE_PARTS}
    if not any(typed.values()):
        whole = str(raw.get(name, "")).strip()
        found = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", whole)
        if found:
            year, month, day = found.groups()
            typed = {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}
        return {**typed, name: whole}
    if all(typed.values()):
        day, month, year = (typed[f"{name}-{part}"] for part in DATE_PARTS)
        return {**typed, name: f"{year}-{month}-{day}"}
    return {**typed, name: "incomplete"}


def read_date(values: Values, name: str, label: str) -> date | None:
    """The date typed in a date field's boxes, with the Design System's errors: "... must
    include a month", "... must be a real date", each naming the boxes in error."""
    parts = {part: values.get(f"{name}-{part}", "").strip() for part in DATE_PARTS}
    if not any(parts.values()):
        whole = values.get(name, "").strip()
        if not whole:
            return None
        found = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", whole)
        if found is None:
            raise Invalid(name, f"{label} must be a real date", DATE_PARTS)
        year, month, day = found.groups()
        parts = {"day": day, "month": month, "year": year}
    missing = tuple(part for part in DATE_PARTS if not parts[part])
    if missing:
        words = " and ".join(missing) if len(missing) < 3 else ""
        raise Invalid(name, f"{label} must include a {words}", missing)
    if not all(parts[p].isdigit() for p in DATE_PARTS) or len(parts["year"]) != 4:
        raise Invalid(name, f"{label} must be a real date", DATE_PARTS)
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        raise Invalid(name, f"{label} must be a real date", DATE_PARTS) from None


def read_time(values: Values, name: str, label: str) -> time | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise Invalid(name, f"{label} must be a real time, like 10:30") from None


# --- a conference booking (the ICPC, a review) ---------------------------------------------------

BOOKING_FIELDS = (
    Field(
        "date",
        "Date of the conference",
        "date",
        required=True,
        missing="Enter the date of the conference",
    ),
    Field(
        "time",
        "Start time",
        "time",
        required=True,
        hint="UK time, for example 10:00",
        missing="Enter the start time",
    ),
    Field(
        "duration_minutes",
        "Length in minutes",
        "number",
        required=True,
        default="120",
        missing="Enter the length of the conference in minutes",
        wrong="Length must be between 1 and 480 minutes",
    ),
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
        missing="Select how people will attend",
    ),
    Field(
        "venue",
        "Venue",
        hint="Leave empty for an online-only conference",
        wrong="Venue must be 300 characters or fewer",
    ),
    Field(
        "chair",
        "Chair",
        required=True,
        hint="The chair's name",
        missing="Enter the chair's name",
        wrong="Chair's name must be 200 characters or fewer",
    ),
)

BOOKING_LOCATIONS: Locations = {
    ("booking", "starts_at"): "date",
    ("booking", "duration_minutes"): "duration_minutes",
    ("booking", "format"): "format",
    ("booking", "venue"): "venue",
    ("booking", "chair"): "chair",
}


def booking(values: Values) -> dict[str, Any]:
    day = read_date(values, "date", "Date of the conference")
    at = read_time(values, "time", "Start time")
    assert day is not None and at is not None  # required fields, checked before
    try:
        minutes = int(values.get("duration_minutes", "").strip())
    except ValueError:
        raise Invalid("duration_minutes", "Length must be a whole number of minutes") from None
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
        Field("held_time", "Time it started (optional)", "time", hint="For example, 10:00"),
    )


def held_at(values: Values) -> datetime | None:
    """The date and time it was held, both or neither."""
    day = read_date(values, "held_date", "Date it was held")
    at = read_time(values, "held_time", "Time it started")
    if day is None and at is not None:
        raise Invalid("held_date", "Enter the date it was held, or leave the time empty")
    if day is not None and at is None:
        raise Invalid("held_time", "Enter the time it started")
    return london_instant(day, at) if day and at else None


# --- the convening sheet's invitees: as many as needed ------------------------------------------
#
# The Design System's "add another" pattern done on the server: the form posts how many rows it
# shows (INVITEE_COUNT); "Add another invitee" sends the form back with one more row, "Remove"
# with that row taken out and the rows after it moved up. No JavaScript is needed.

INVITEE = "invitee"
INVITEE_COUNT = "invitee_count"
MAX_INVITEES = 60
ACTION = "form_action"  # the add and remove buttons' name


def _invitee_row(row: int) -> tuple[Field, ...]:
    who = f"invitee {row}"
    group = f"Invitee {row}"

    def part(name: str, label: str, kind: str = "text", **more: Any) -> Field:
        return Field(
            f"invitee{row}_{name}", label, kind, group=group, repeat=INVITEE, row=row, **more
        )

    return (
        part(
            "name",
            "Full name",
            missing=f"Enter the full name of {who}",
            wrong=f"Full name of {who} must be 200 characters or fewer",
        ),
        part(
            "role_or_relationship",
            "Role or relationship to the child",
            hint="For example, mother, class teacher or health visitor",
            missing=f"Enter the role or relationship to the child of {who}",
            wrong=f"Role or relationship of {who} must be 200 characters or fewer",
        ),
        part(
            "agency", "Agency (optional)", wrong=f"Agency of {who} must be 200 characters or fewer"
        ),
        part(
            "email",
            "Email address",
            "email",
            autocomplete="off",
            wrong=f"Enter the email address of {who} in the correct format, like name@example.org",
        ),
        part(
            "telephone",
            "Telephone (optional)",
            "tel",
            wrong=f"Telephone of {who} must be 40 characters or fewer",
        ),
        part(
            "postal_address",
            "Postal address (optional)",
            "textarea",
            max_length=500,
            wrong=f"Postal address of {who} must be 500 characters or fewer",
        ),
        part(
            "safety_notes",
            "Safety notes (optional)",
            "textarea",
            max_length=TEXT_LIMIT,
            hint="What the people arranging the conference must know to keep this person"
            " or others safe, for example not to share their address with another invitee",
            wrong=f"Safety notes for {who} must be {TEXT_LIMIT} characters or fewer",
        ),
        part("is_school", "This invitee is the child's school", "checkbox"),
    )


INVITEE_PARTS = tuple(f.name.removeprefix("invitee1_") for f in _invitee_row(1))


def invitee_fields(rows: int) -> tuple[Field, ...]:
    """The convening sheet's rows, 1 to ``rows``, and the hidden count of them."""
    count = Field(INVITEE_COUNT, "Number of invitees", "hidden", default=str(rows))
    return (count, *(f for row in range(1, rows + 1) for f in _invitee_row(row)))


INVITEE_FIELDS = invitee_fields(1)


def _typed(values: Mapping[str, Any], row: int, part: str) -> str:
    return str(values.get(f"invitee{row}_{part}", "")).strip()


def invitee_rows(raw: Mapping[str, Any]) -> int:
    """How many rows the posted form showed: its count, or the last row typed in."""
    try:
        count = int(str(raw.get(INVITEE_COUNT, "")).strip())
    except ValueError:
        count = 0
    typed = [
        int(found.group(1))
        for key, value in raw.items()
        if (found := re.fullmatch(r"invitee(\d+)_\w+", key)) and str(value).strip()
    ]
    return max(1, min(MAX_INVITEES, max([count, *typed])))


def invitee_action(raw: Mapping[str, Any]) -> tuple[dict[str, str], int] | None:
    """The form as it must come back after "Add another invitee" or "Remove": its values and
    number of rows; None when neither button was pressed."""
    action = str(raw.get(ACTION, ""))
    rows = invitee_rows(raw)
    values = {k: str(v) for k, v in raw.items() if k != ACTION}
    if action == f"add_{INVITEE}":
        rows = min(MAX_INVITEES, rows + 1)
    elif found := re.fullmatch(rf"remove_{INVITEE}-(\d+)", action):
        gone = int(found.group(1))
        if not 1 <= gone <= rows or rows == 1:
            return values, rows
        for row in range(gone, rows):
            for part in INVITEE_PARTS:
                values[f"invitee{row}_{part}"] = values.get(f"invitee{row + 1}_{part}", "")
        for part in INVITEE_PARTS:
            values.pop(f"invitee{rows}_{part}", None)
        rows -= 1
    else:
        return None
    values[INVITEE_COUNT] = str(rows)
    return values, rows


def _filled(values: Values, row: int) -> bool:
    return any(_typed(values, row, part) for part in INVITEE_PARTS if part != "is_school")


def invitees(values: Values) -> dict[str, Any]:
    people = []
    for row in range(1, invitee_rows(values) + 1):
        if not _filled(values, row):
            continue
        typed = {part: _typed(values, row, part) for part in INVITEE_PARTS}
        if not typed["name"]:
            raise Invalid(f"invitee{row}_name", f"Enter the full name of invitee {row}")
        if not typed["role_or_relationship"]:
            raise Invalid(
                f"invitee{row}_role_or_relationship",
                f"Enter the role or relationship to the child of invitee {row}",
            )
        people.append(
            {
                "name": typed["name"],
                "role_or_relationship": typed["role_or_relationship"],
                "agency": typed["agency"],
                "email": typed["email"] or None,
                "telephone": typed["telephone"] or None,
                "postal_address": typed["postal_address"] or None,
                "safety_notes": typed["safety_notes"],
                "is_school": bool(typed["is_school"]),
            }
        )
    if not people:
        raise Invalid("invitee1_name", "Enter the full name of at least one invitee")
    return {"invitees": people, "reason": values.get("reason", "")}


def invitee_location(loc: tuple[Any, ...], values: Values) -> str | None:
    """The field behind a payload error about the nth invitee (the nth filled row)."""
    if len(loc) < 3 or loc[0] != "invitees" or not isinstance(loc[1], int):
        return None
    filled = [row for row in range(1, invitee_rows(values) + 1) if _filled(values, row)]
    if loc[1] >= len(filled):
        return None
    return f"invitee{filled[loc[1]]}_{loc[2]}"
