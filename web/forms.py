"""Decision forms: which fields each decision asks for, and how typed values become a payload.

The web layer only parses and validates the shape of what was typed (required fields, dates,
the payload model in :mod:`domain.decisions`); whether the decision fits the case is for the
case rules, which the workflow runs when the update arrives. The decider is never a field: it
comes from the session and is added here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain import plan_rules
from domain.calendar import london_instant
from domain.case_rules import DECISION_TITLES
from domain.case_state import CaseState
from domain.decisions import CASE_DECISION, CaseDecision, ConferenceFormat, Decider, Outcome
from domain.plan_decisions import PLAN_DECISION, PlanDecision, PlanEndReason, ReviewOutcome
from domain.plan_state import PlanState
from domain.vocabulary import DecisionKind

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


@dataclass(frozen=True)
class DecisionForm:
    kind: DecisionKind
    title: str
    fields: list[Field]
    build: Callable[[Mapping[str, str]], dict[str, Any]]
    # Where pydantic's error locations land: a location prefix -> field name.
    locations: dict[tuple[Any, ...], str] = field(default_factory=dict)
    button: str = "Send decision"
    adapter: TypeAdapter[Any] = CASE_DECISION  # the payload model: case or plan decisions

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass
class Parsed:
    decision: CaseDecision | PlanDecision | None
    errors: dict[str, str]  # field name -> message, in the order the fields appear
    values: dict[str, str]


class _Invalid(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


# --- field helpers ----------------------------------------------------------------------------


def _reason(label: str, required: bool, hint: str = "") -> Field:
    return Field("reason", label, "textarea", required=required, hint=hint)


def _date(values: Mapping[str, str], name: str, label: str) -> date | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _Invalid(name, f"{label} must be a real date, like 2027-03-14") from None


def _time(values: Mapping[str, str], name: str, label: str) -> time | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise _Invalid(name, f"{label} must be a time of day, like 10:30") from None


def _booking_fields() -> list[Field]:
    return [
        Field("date", "Date of the conference", "date", required=True),
        Field("time", "Start time", "time", required=True, hint="UK time, for example 10:00"),
        Field(
            "duration_minutes",
            "Length in minutes",
            "number",
            required=True,
            default="120",
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
        ),
        Field("venue", "Venue", hint="Leave empty for an online-only conference"),
        Field("chair", "Chair", required=True, hint="The chair's name"),
    ]


def _booking(values: Mapping[str, str]) -> dict[str, Any]:
    day = _date(values, "date", "The date of the conference")
    at = _time(values, "time", "The start time")
    assert day is not None and at is not None  # required fields, checked before
    try:
        minutes = int(values.get("duration_minutes", "").strip())
    except ValueError:
        raise _Invalid("duration_minutes", "The length must be a whole number of minutes") from None
    return {
        "starts_at": london_instant(day, at),
        "duration_minutes": minutes,
        "format": values.get("format", ""),
        "venue": values.get("venue", ""),
        "chair": values.get("chair", ""),
    }


_BOOKING_LOCATIONS: dict[tuple[Any, ...], str] = {
    ("booking", "starts_at"): "date",
    ("booking", "duration_minutes"): "duration_minutes",
    ("booking", "format"): "format",
    ("booking", "venue"): "venue",
    ("booking", "chair"): "chair",
}


def _invitee_fields() -> list[Field]:
    fields = []
    for row in range(1, INVITEE_ROWS + 1):
        for part, label, kind in INVITEE_PARTS:
            fields.append(
                Field(
                    f"invitee{row}_{part}",
                    label,
                    kind,
                    group=f"Invitee {row}" + ("" if row > 1 else " (at least one)"),
                )
            )
    return fields


def _invitees(values: Mapping[str, str]) -> dict[str, Any]:
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
                raise _Invalid(f"invitee{row}_{part}", f"Enter invitee {row}'s {label}")
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
        raise _Invalid("invitee1_name", "Enter at least one invitee")
    return {"invitees": people}


def _invitee_location(loc: tuple[Any, ...], values: Mapping[str, str]) -> str | None:
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


# --- the forms --------------------------------------------------------------------------------


def form_for(kind: DecisionKind, state: CaseState) -> DecisionForm:
    title = DECISION_TITLES[kind]
    title = title[0].upper() + title[1:]
    proc = state.procedure

    def just_reason(values: Mapping[str, str]) -> dict[str, Any]:
        return {"reason": values.get("reason", "")}

    match kind:
        case DecisionKind.CONFIRM_ICPC:
            fields = [_reason("Notes (optional)", False)]
            return DecisionForm(kind, title, fields, just_reason, {("reason",): "reason"})
        case DecisionKind.WITHDRAW_ICPC:
            fields = [_reason("Why is the ICPC no longer needed?", True)]
            return DecisionForm(kind, title, fields, just_reason, {("reason",): "reason"})
        case DecisionKind.SHARE_REPORT:
            fields = [_reason("Notes (optional)", False)]
            return DecisionForm(kind, title, fields, just_reason, {("reason",): "reason"})
        case DecisionKind.REQUEST_POLICE_CHECKS:
            fields = [
                _reason(
                    "Why are police checks needed?",
                    True,
                    "The police will not run a check without a brief description of why",
                )
            ]
            return DecisionForm(kind, title, fields, just_reason, {("reason",): "reason"})
        case DecisionKind.REQUEST_DELAY:
            fields = [
                Field(
                    "proposed_date",
                    "Proposed date of the conference",
                    "date",
                    required=True,
                    hint="A date after the statutory limit",
                ),
                _reason("Why is a delay needed?", True),
                Field(
                    "safety_plan",
                    "How will the child be kept safe until then?",
                    "textarea",
                    required=True,
                    hint="The safety plan while the conference is delayed",
                ),
            ]

            def delay(values: Mapping[str, str]) -> dict[str, Any]:
                return {
                    "proposed_date": _date(values, "proposed_date", "The proposed date"),
                    "reason": values.get("reason", ""),
                    "safety_plan": values.get("safety_plan", ""),
                }

            return DecisionForm(
                kind,
                title,
                fields,
                delay,
                {
                    ("proposed_date",): "proposed_date",
                    ("reason",): "reason",
                    ("safety_plan",): "safety_plan",
                },
            )
        case DecisionKind.APPROVE_DELAY | DecisionKind.REJECT_DELAY:
            verb = "approving" if kind == DecisionKind.APPROVE_DELAY else "rejecting"
            fields = [_reason(f"Your reasons for {verb} the delay", True)]
            return DecisionForm(kind, title, fields, just_reason, {("reason",): "reason"})
        case DecisionKind.RECORD_REPEAT_PLAN_OVERSIGHT:
            fields = [_reason("Your oversight, in your words", True)]
            return DecisionForm(kind, title, fields, just_reason, {("reason",): "reason"})
        case DecisionKind.REPORT_CAPACITY_PROBLEM:
            fields = [
                Field(
                    "problem",
                    "What is the problem?",
                    "radios",
                    required=True,
                    options=tuple((c.id, c.title) for c in proc.capacity_escalations),
                ),
                _reason("Details (optional)", False),
            ]

            def capacity(values: Mapping[str, str]) -> dict[str, Any]:
                return {"problem": values.get("problem", ""), "reason": values.get("reason", "")}

            return DecisionForm(
                kind, title, fields, capacity, {("problem",): "problem", ("reason",): "reason"}
            )
        case DecisionKind.STAND_DOWN:
            reasons = tuple((r.id, r.title) for r in proc.stand_down_reasons)
            fields = [
                Field(
                    "stand_down_reason",
                    "Why is the conference stood down?",
                    "radios" if reasons else "text",
                    required=True,
                    options=reasons,
                ),
                _reason("Your rationale", True),
            ]

            def stand_down(values: Mapping[str, str]) -> dict[str, Any]:
                return {
                    "stand_down_reason": values.get("stand_down_reason", ""),
                    "reason": values.get("reason", ""),
                }

            return DecisionForm(
                kind,
                title,
                fields,
                stand_down,
                {("stand_down_reason",): "stand_down_reason", ("reason",): "reason"},
            )
        case DecisionKind.BOOK_CONFERENCE | DecisionKind.REBOOK_CONFERENCE:
            fields = [*_booking_fields(), _reason("Notes (optional)", False)]

            def book(values: Mapping[str, str]) -> dict[str, Any]:
                return {"booking": _booking(values), "reason": values.get("reason", "")}

            return DecisionForm(
                kind, title, fields, book, {**_BOOKING_LOCATIONS, ("reason",): "reason"}
            )
        case DecisionKind.HOLD_CONFERENCE:
            fields = [
                Field(
                    "outcome",
                    "What did the conference decide?",
                    "radios",
                    required=True,
                    options=(
                        (Outcome.CHILD_PROTECTION_PLAN.value, "A child protection plan"),
                        (Outcome.NO_PLAN.value, "No plan"),
                    ),
                ),
                Field(
                    "held_date",
                    "Date it was held (optional)",
                    "date",
                    hint="Leave empty if it was held when booked",
                ),
                Field("held_time", "Time it started (optional)", "time"),
                _reason("Notes (optional)", False),
            ]

            def hold(values: Mapping[str, str]) -> dict[str, Any]:
                day = _date(values, "held_date", "The date it was held")
                at = _time(values, "held_time", "The time it started")
                if day is None and at is not None:
                    raise _Invalid("held_date", "Enter the date it was held, or no time")
                if day is not None and at is None:
                    raise _Invalid("held_time", "Enter the time it started")
                held: datetime | None = london_instant(day, at) if day and at else None
                return {
                    "outcome": values.get("outcome", ""),
                    "held_at": held,
                    "reason": values.get("reason", ""),
                }

            return DecisionForm(
                kind,
                title,
                fields,
                hold,
                {("outcome",): "outcome", ("held_at",): "held_date", ("reason",): "reason"},
            )
        case DecisionKind.REASSIGN_WORKER:
            fields = [
                Field(
                    "contact_role",
                    "Role",
                    "select",
                    required=True,
                    options=tuple((r.id, r.title) for r in proc.roles if not r.mailbox),
                ),
                Field("contact_name", "Name of the new member of staff", required=True),
                Field("contact_email", "Their work email address", "email", required=True),
                Field(
                    "contact_user",
                    "Their sign-in id (optional)",
                    hint="So the cases waiting for them show when they sign in",
                ),
                _reason("Notes (optional)", False),
            ]

            def reassign(values: Mapping[str, str]) -> dict[str, Any]:
                return {
                    "contact": {
                        "role": values.get("contact_role", ""),
                        "name": values.get("contact_name", ""),
                        "email": values.get("contact_email", ""),
                        "user": values.get("contact_user", "").strip() or None,
                    },
                    "reason": values.get("reason", ""),
                }

            return DecisionForm(
                kind,
                title,
                fields,
                reassign,
                {
                    ("contact", "role"): "contact_role",
                    ("contact", "name"): "contact_name",
                    ("contact", "email"): "contact_email",
                    ("contact", "user"): "contact_user",
                    ("reason",): "reason",
                },
            )
        case DecisionKind.RECEIVE_CONVENING_SHEET:
            fields = [*_invitee_fields(), _reason("Notes (optional)", False)]
            return DecisionForm(kind, title, fields, _invitees, {("reason",): "reason"})
    raise LookupError(f"no form for {kind}")


def _held_fields(what: str) -> list[Field]:
    return [
        Field(
            "held_date",
            f"Date {what} was held (optional)",
            "date",
            hint="Leave empty for the booked date (a core group: today)",
        ),
        Field("held_time", "Time it started (optional)", "time"),
    ]


def _held_at(values: Mapping[str, str]) -> datetime | None:
    day = _date(values, "held_date", "The date it was held")
    at = _time(values, "held_time", "The time it started")
    if day is None and at is not None:
        raise _Invalid("held_date", "Enter the date it was held, or no time")
    if day is not None and at is None:
        raise _Invalid("held_time", "Enter the time it started")
    return london_instant(day, at) if day and at else None


def plan_form_for(kind: DecisionKind, state: PlanState) -> DecisionForm:
    """The form for a decision on the child protection plan after the ICPC."""
    title = plan_rules.DECISION_TITLES[kind]
    title = title[0].upper() + title[1:]
    notes = {("reason",): "reason"}

    def just_reason(values: Mapping[str, str]) -> dict[str, Any]:
        return {"reason": values.get("reason", "")}

    def plan_form(
        fields: list[Field],
        build: Callable[[Mapping[str, str]], dict[str, Any]],
        locations: dict[tuple[Any, ...], str],
    ) -> DecisionForm:
        return DecisionForm(kind, title, fields, build, locations, adapter=PLAN_DECISION)

    match kind:
        case (
            DecisionKind.SIGN_OFF_PLAN
            | DecisionKind.SHARE_CONFERENCE_RECORD
            | DecisionKind.SEND_REVIEW_ATTENDANCE_LIST
            | DecisionKind.APPROVE_REVIEW_MOVE
        ):
            return plan_form([_reason("Notes (optional)", False)], just_reason, notes)
        case DecisionKind.HOLD_CORE_GROUP:

            def core_group(values: Mapping[str, str]) -> dict[str, Any]:
                return {"held_at": _held_at(values), "reason": values.get("reason", "")}

            fields = [*_held_fields("the meeting"), _reason("Notes (optional)", False)]
            return plan_form(fields, core_group, {("held_at",): "held_date", **notes})
        case DecisionKind.BOOK_REVIEW:

            def book(values: Mapping[str, str]) -> dict[str, Any]:
                return {"booking": _booking(values), "reason": values.get("reason", "")}

            fields = [*_booking_fields(), _reason("Notes (optional)", False)]
            return plan_form(fields, book, {**_BOOKING_LOCATIONS, **notes})
        case DecisionKind.REQUEST_REVIEW_MOVE:

            def move(values: Mapping[str, str]) -> dict[str, Any]:
                return {"booking": _booking(values), "reason": values.get("reason", "")}

            fields = [*_booking_fields(), _reason("Why move the review conference?", True)]
            return plan_form(fields, move, {**_BOOKING_LOCATIONS, **notes})
        case DecisionKind.HOLD_REVIEW:

            def hold(values: Mapping[str, str]) -> dict[str, Any]:
                return {
                    "outcome": values.get("outcome", ""),
                    "held_at": _held_at(values),
                    "reason": values.get("reason", ""),
                }

            fields = [
                Field(
                    "outcome",
                    "What did the review conference decide?",
                    "radios",
                    required=True,
                    options=(
                        (ReviewOutcome.PLAN_CONTINUES.value, "The plan continues"),
                        (ReviewOutcome.PLAN_ENDS.value, "The plan ends"),
                    ),
                ),
                *_held_fields("the review"),
                _reason("Notes (optional)", False),
            ]
            return plan_form(
                fields, hold, {("outcome",): "outcome", ("held_at",): "held_date", **notes}
            )
        case DecisionKind.END_PLAN:

            def end(values: Mapping[str, str]) -> dict[str, Any]:
                return {
                    "end_reason": values.get("end_reason", ""),
                    "reason": values.get("reason", ""),
                }

            fields = [
                Field(
                    "end_reason",
                    "Why does the plan end?",
                    "radios",
                    required=True,
                    options=(
                        (PlanEndReason.LOOKED_AFTER.value, "The child became looked after"),
                        (
                            PlanEndReason.MOVED_AUTHORITY.value,
                            "The child moved to another authority",
                        ),
                    ),
                ),
                _reason("Your reasons", True),
            ]
            return plan_form(fields, end, {("end_reason",): "end_reason", **notes})
        case DecisionKind.REASSIGN_WORKER:
            case_form = form_for(kind, state.case)
            return DecisionForm(
                kind,
                title,
                case_form.fields,
                case_form.build,
                case_form.locations,
                adapter=PLAN_DECISION,
            )
    raise LookupError(f"no form for {kind}")


# --- parsing ----------------------------------------------------------------------------------

_MESSAGES = {
    "string_pattern_mismatch": "is not in the expected form",
    "string_too_long": "is too long",
    "string_too_short": "must not be empty",
    "missing": "is missing",
}


def _message(form: DecisionForm, name: str, error: Mapping[str, Any]) -> str:
    f = form.field(name)
    label = f.label if f else name.replace("_", " ")
    if name.endswith("_email") or name == "email":
        return f"Enter {label.lower()} in the right form, like name@example.org"
    if error.get("type") == "less_than_equal" or error.get("type") == "greater_than":
        return f"{label}: {error.get('msg', 'out of range')}"
    return f"{label} {_MESSAGES.get(str(error.get('type')), 'is not valid')}"


def parse(form: DecisionForm, raw: Mapping[str, str], decider: Decider) -> Parsed:
    values = {f.name: str(raw.get(f.name, "")) for f in form.fields}
    errors: dict[str, str] = {}
    for f in form.fields:
        if f.required and not values[f.name].strip():
            verb = "Choose" if f.kind in ("radios", "select") else "Enter"
            errors[f.name] = f"{verb} {f.label[0].lower()}{f.label[1:].rstrip('?')}"
    if errors:
        return Parsed(None, _ordered(form, errors), values)
    try:
        payload = form.build(values)
    except _Invalid as invalid:
        return Parsed(None, {invalid.field_name: str(invalid)}, values)
    payload = {"kind": form.kind.value, "decided_by": decider, **payload}
    try:
        decision = form.adapter.validate_python(payload)
    except ValidationError as error:
        for e in error.errors():
            loc = tuple(e["loc"])
            if loc and loc[0] == form.kind.value:
                loc = loc[1:]
            name = _invitee_location(loc, values) or next(
                (n for prefix, n in form.locations.items() if loc[: len(prefix)] == prefix), None
            )
            if name is None:  # not the user's doing (the decider, say): say so plainly
                errors.setdefault("", "This decision could not be sent; please tell support.")
            else:
                errors.setdefault(name, _message(form, name, e))
        return Parsed(None, _ordered(form, errors), values)
    return Parsed(decision, {}, values)


def _ordered(form: DecisionForm, errors: dict[str, str]) -> dict[str, str]:
    order = {f.name: n for n, f in enumerate(form.fields)}
    return dict(sorted(errors.items(), key=lambda item: order.get(item[0], -1)))
