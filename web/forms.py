"""Decision forms: one table, keyed by decision, of the fields each asks for and its payload.

A form is the same whichever path takes its decision (reassigning a worker is written once for
the case and the plan): its title and its payload model come from the path
(:meth:`domain.path.Path.title`, :attr:`domain.path.Path.adapter`). The web layer only reads
and checks the shape of what was typed (:mod:`web.parsing`); whether the decision fits is for
the path's rules, which the workflow runs when the update arrives. The decider is never a
field: it comes from the session.

Adding a decision: its payload model and its row in the path's table (domain), and one entry
in :data:`FORMS` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter

from domain.decisions import Outcome
from domain.path import Path
from domain.plan_decisions import PlanEndReason, ReviewOutcome
from domain.procedure import Procedure
from domain.vocabulary import DecisionKind
from domain.wording import capitalised
from web.fields import (
    BOOKING_FIELDS,
    BOOKING_LOCATIONS,
    INVITEE_FIELDS,
    NOTES,
    Build,
    Field,
    Locations,
    Values,
    booked,
    copied,
    held_at,
    held_fields,
    invitees,
    read_date,
    reason,
)


@dataclass(frozen=True)
class FormSpec:
    """What a decision's form asks for and how the answers become its payload."""

    fields: tuple[Field, ...]
    build: Build
    # Payload error locations that are not simply a field's own name.
    locations: Locations = field(default_factory=dict)


FormBuilder = Callable[[Procedure], FormSpec]  # some forms offer the procedure's own choices


@dataclass(frozen=True)
class DecisionForm:
    kind: DecisionKind
    title: str
    fields: tuple[Field, ...]
    build: Build
    locations: Locations  # a pydantic error location prefix -> field name
    adapter: TypeAdapter[Any]  # the path's decisions, parsed by kind
    button: str = "Send decision"

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def sections(self) -> list[tuple[str, list[Field]]]:
        """The fields in order, those of one group together."""
        sections: list[tuple[str, list[Field]]] = []
        for f in self.fields:
            if sections and sections[-1][0] == f.group:
                sections[-1][1].append(f)
            else:
                sections.append((f.group, [f]))
        return sections


def form_for(path: Path[Any], kind: DecisionKind, procedure: Procedure) -> DecisionForm:
    """The form for ``kind`` on ``path``; LookupError if no form is written for it."""
    builder = FORMS.get(kind)
    if builder is None or not path.takes(kind):
        raise LookupError(f"no form for {kind} on the {path.stream}")
    spec = builder(procedure)
    locations = {(f.name,): f.name for f in spec.fields} | spec.locations
    title = capitalised(path.title(kind))
    return DecisionForm(kind, title, spec.fields, spec.build, locations, path.adapter)


# --- the forms, one builder per decision ------------------------------------------------------


def _fixed(spec: FormSpec) -> FormBuilder:
    return lambda procedure: spec


def _just(reason_field: Field) -> FormBuilder:
    """A decision that asks only for its reason (or notes)."""
    return _fixed(FormSpec((reason_field,), copied(reason_field.name)))


def _booking(reason_field: Field) -> FormBuilder:
    return _fixed(FormSpec((*BOOKING_FIELDS, reason_field), booked, BOOKING_LOCATIONS))


TO_CONSIDER_ENDING = Field(
    "to_consider_ending",
    "The core group feel ending the plan can be considered",
    "checkbox",
    hint="Only then may a review be booked earlier than the procedure allows; say so in the notes",
)


def _review_booking(reason_field: Field) -> FormBuilder:
    def build(values: Values) -> dict[str, Any]:
        return {**booked(values), "to_consider_ending": bool(values.get("to_consider_ending"))}

    fields = (*BOOKING_FIELDS, TO_CONSIDER_ENDING, reason_field)
    return _fixed(FormSpec(fields, build, BOOKING_LOCATIONS))


def _delay(values: Values) -> dict[str, Any]:
    return {
        "proposed_date": read_date(values, "proposed_date", "The proposed date"),
        "reason": values.get("reason", ""),
        "safety_plan": values.get("safety_plan", ""),
    }


REQUEST_DELAY = FormSpec(
    (
        Field(
            "proposed_date",
            "Proposed date of the conference",
            "date",
            required=True,
            hint="A date after the statutory limit",
        ),
        reason("Why is a delay needed?", True),
        Field(
            "safety_plan",
            "How will the child be kept safe until then?",
            "textarea",
            required=True,
            hint="The safety plan while the conference is delayed",
        ),
    ),
    _delay,
)


def _capacity_problem(procedure: Procedure) -> FormSpec:
    problems = tuple((c.id, c.title) for c in procedure.capacity_escalations)
    return FormSpec(
        (
            Field("problem", "What is the problem?", "radios", required=True, options=problems),
            reason("Details (optional)"),
        ),
        copied("problem", "reason"),
    )


def _stand_down(procedure: Procedure) -> FormSpec:
    reasons = tuple((r.id, r.title) for r in procedure.stand_down_reasons)
    return FormSpec(
        (
            Field(
                "stand_down_reason",
                "Why is the conference stood down?",
                "radios" if reasons else "text",
                required=True,
                options=reasons,
            ),
            reason("Your rationale", True),
        ),
        copied("stand_down_reason", "reason"),
    )


def _held(values: Values) -> dict[str, Any]:
    """A conference recorded as held: what it decided, when, and notes."""
    return {
        "outcome": values.get("outcome", ""),
        "held_at": held_at(values),
        "reason": values.get("reason", ""),
    }


def _outcome(label: str, *options: tuple[str, str]) -> Field:
    return Field("outcome", label, "radios", required=True, options=options)


HOLD_CONFERENCE = FormSpec(
    (
        _outcome(
            "What did the conference decide?",
            (Outcome.CHILD_PROTECTION_PLAN.value, "A child protection plan"),
            (Outcome.NO_PLAN.value, "No plan"),
        ),
        *held_fields("it", "Leave empty if it was held when booked"),
        NOTES,
    ),
    _held,
    {("held_at",): "held_date"},
)

_PLAN_HELD_HINT = "Leave empty for the booked date (a core group: today)"

HOLD_REVIEW = FormSpec(
    (
        _outcome(
            "What did the review conference decide?",
            (ReviewOutcome.PLAN_CONTINUES.value, "The plan continues"),
            (ReviewOutcome.PLAN_ENDS.value, "The plan ends"),
        ),
        *held_fields("the review", _PLAN_HELD_HINT),
        NOTES,
    ),
    _held,
    {("held_at",): "held_date"},
)


def _core_group(values: Values) -> dict[str, Any]:
    return {"held_at": held_at(values), "reason": values.get("reason", "")}


HOLD_CORE_GROUP = FormSpec(
    (*held_fields("the meeting", _PLAN_HELD_HINT), NOTES),
    _core_group,
    {("held_at",): "held_date"},
)

END_PLAN = FormSpec(
    (
        Field(
            "end_reason",
            "Why does the plan end?",
            "radios",
            required=True,
            options=(
                (PlanEndReason.LOOKED_AFTER.value, "The child became looked after"),
                (PlanEndReason.MOVED_AUTHORITY.value, "The child moved to another authority"),
            ),
        ),
        reason("Your reasons", True),
    ),
    copied("end_reason", "reason"),
)


def _split_advice(values: Values) -> dict[str, Any]:
    answer = values.get("split_needed", "")
    return {
        "split_needed": {"yes": True, "no": False}.get(answer, answer),
        "reason": values.get("reason", ""),
    }


ADVISE_CONFERENCE_SPLIT = FormSpec(
    (
        Field(
            "split_needed",
            "Does the conference need to be split?",
            "radios",
            required=True,
            options=(("yes", "Yes, in two parts"), ("no", "No")),
        ),
        reason(
            "Known risks or concerns with the family's participation",
            True,
            "Whoever books the conference is told, so it can be arranged",
        ),
    ),
    _split_advice,
)


def _record_step(procedure: Procedure) -> FormSpec:
    steps = tuple((m.id, m.title) for m in procedure.steps())
    choices = tuple(
        dict.fromkeys(
            (c, c.replace("_", " ").capitalize()) for m in procedure.steps() for c in m.choices
        )
    )
    fields = [Field("step", "Which step is done?", "select", required=True, options=steps)]
    if choices:
        fields.append(
            Field(
                "choice",
                "Your choice, for a step that asks for one",
                "select",
                options=(("", "No choice"), *choices),
            )
        )
    return FormSpec((*fields, NOTES), copied("step", *(("choice",) if choices else ()), "reason"))


def _new_contact(values: Values) -> dict[str, Any]:
    return {
        "contact": {
            "role": values.get("contact_role", ""),
            "name": values.get("contact_name", ""),
            "email": values.get("contact_email", ""),
            "user": values.get("contact_user", "").strip() or None,
        },
        "reason": values.get("reason", ""),
    }


def _reassign_worker(procedure: Procedure) -> FormSpec:
    people = tuple((r.id, r.title) for r in procedure.roles if not r.mailbox)
    return FormSpec(
        (
            Field("contact_role", "Role", "select", required=True, options=people),
            Field("contact_name", "Name of the new member of staff", required=True),
            Field("contact_email", "Their work email address", "email", required=True),
            Field(
                "contact_user",
                "Their sign-in id (optional)",
                hint="So the cases waiting for them show when they sign in",
            ),
            NOTES,
        ),
        _new_contact,
        {
            ("contact", "role"): "contact_role",
            ("contact", "name"): "contact_name",
            ("contact", "email"): "contact_email",
            ("contact", "user"): "contact_user",
        },
    )


K = DecisionKind

FORMS: dict[DecisionKind, FormBuilder] = {
    # The ICPC case.
    K.CONFIRM_ICPC: _just(NOTES),
    K.WITHDRAW_ICPC: _just(reason("Why is the ICPC no longer needed?", True)),
    K.RECEIVE_CONVENING_SHEET: _fixed(FormSpec((*INVITEE_FIELDS, NOTES), invitees)),
    K.BOOK_CONFERENCE: _booking(NOTES),
    K.SHARE_REPORT: _just(NOTES),
    K.REQUEST_POLICE_CHECKS: _just(
        reason(
            "Why are police checks needed?",
            True,
            "The police will not run a check without a brief description of why",
        )
    ),
    K.REQUEST_DELAY: _fixed(REQUEST_DELAY),
    K.APPROVE_DELAY: _just(reason("Your reasons for approving the delay", True)),
    K.REJECT_DELAY: _just(reason("Your reasons for rejecting the delay", True)),
    K.REPORT_CAPACITY_PROBLEM: _capacity_problem,
    K.STAND_DOWN: _stand_down,
    K.REBOOK_CONFERENCE: _booking(NOTES),
    K.HOLD_CONFERENCE: _fixed(HOLD_CONFERENCE),
    K.RECORD_REPEAT_PLAN_OVERSIGHT: _just(reason("Your oversight, in your words", True)),
    K.ADVISE_CONFERENCE_SPLIT: _fixed(ADVISE_CONFERENCE_SPLIT),
    K.RECORD_STEP: _record_step,
    # Either path.
    K.REASSIGN_WORKER: _reassign_worker,
    # The child protection plan after the ICPC.
    K.HOLD_CORE_GROUP: _fixed(HOLD_CORE_GROUP),
    K.SIGN_OFF_PLAN: _just(NOTES),
    K.SHARE_CONFERENCE_RECORD: _just(NOTES),
    K.SEND_REVIEW_ATTENDANCE_LIST: _just(NOTES),
    K.BOOK_REVIEW: _review_booking(NOTES),
    K.REQUEST_REVIEW_MOVE: _review_booking(reason("Why move the review conference?", True)),
    K.APPROVE_REVIEW_MOVE: _just(NOTES),
    K.HOLD_REVIEW: _fixed(HOLD_REVIEW),
    K.END_PLAN: _fixed(END_PLAN),
}
