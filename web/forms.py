"""Decision forms: one table, keyed by decision, of the fields each asks for and its payload.

A form is the same whichever path takes its decision (reassigning a worker is written once for
the case and the plan): its title and its payload model come from the path
(:meth:`domain.path.Path.title`, :attr:`domain.path.Path.adapter`). The web layer only reads
and checks the shape of what was typed (:mod:`web.parsing`); whether the decision fits is for
the path's rules, which the workflow runs when the update arrives. The decider is never a
field: it comes from the session; a person who may take the decision in more than one role
chooses which (:data:`ACTING_ROLE`), among the roles the page offers.

Some choices are only known per case: the people a case may be given to on reassignment are
the page's to pass in (``options``), and the contact sent is the server's, built from the person
record picked (:func:`domain.scoping.contact_for`), never typed.

Adding a decision: its payload model and its row in the path's table (domain), and one entry
in :data:`FORMS` here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import TypeAdapter

from domain.decisions import Outcome
from domain.path import Path
from domain.plan_decisions import PlanEndReason, ReviewOutcome
from domain.procedure import Procedure
from domain.scoping import SOCIAL_WORKER
from domain.vocabulary import DecisionKind
from domain.wording import capitalised
from web.fields import (
    BOOKING_FIELDS,
    BOOKING_LOCATIONS,
    INVITEE_COUNT,
    INVITEE_FIELDS,
    NOTES,
    TEXT_LIMIT,
    Build,
    Field,
    Locations,
    Values,
    booked,
    copied,
    held_at,
    held_fields,
    invitee_fields,
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
    def repeats(self) -> bool:
        """Whether the form has an "add another" list (the convening sheet's invitees)."""
        return any(f.repeat for f in self.fields)

    def rows(self, repeat: str) -> int:
        return max((f.row for f in self.fields if f.repeat == repeat), default=0)

    def with_options(self, options: Mapping[str, Options]) -> DecisionForm:
        """The form with the choices only the case can give (the people it may go to)."""
        if not options:
            return self
        fields = tuple(
            replace(f, options=tuple(options[f.name])) if f.name in options else f
            for f in self.fields
        )
        return replace(self, fields=fields)

    def with_invitees(self, rows: int) -> DecisionForm:
        """The form showing ``rows`` invitees (the convening sheet); any other form as it is."""
        at = next((n for n, f in enumerate(self.fields) if f.name == INVITEE_COUNT), None)
        if at is None:
            return self
        kept = [f for f in self.fields if not f.repeat and f.name != INVITEE_COUNT]
        fields = (*kept[:at], *invitee_fields(rows), *kept[at:])
        locations = {(f.name,): f.name for f in fields} | self.locations
        return replace(self, fields=fields, locations=locations)

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


# The role a person acts in, when they may take the decision in more than one: they choose.
ACTING_ROLE = "acting_role"

Options = tuple[tuple[str, str], ...]  # (value, label) each


def form_for(
    path: Path[Any],
    kind: DecisionKind,
    procedure: Procedure,
    *,
    roles: Sequence[tuple[str, str]] = (),
    options: Mapping[str, Options] | None = None,
) -> DecisionForm:
    """The form for ``kind`` on ``path``; LookupError if no form is written for it.

    ``roles``, (role id, title) each: the roles the person may take it in; with more than one,
    the form asks which (:data:`ACTING_ROLE`). ``options`` gives the choices of a field only
    the case can give (the people it may be reassigned to)."""
    builder = FORMS.get(kind)
    if builder is None or not path.takes(kind):
        raise LookupError(f"no form for {kind} on the {path.stream}")
    spec = builder(procedure)
    fields = spec.fields
    if len(roles) > 1:
        fields = (acting_role_field(roles), *fields)
    locations = {(f.name,): f.name for f in fields} | spec.locations
    title = capitalised(path.title(kind))
    form = DecisionForm(kind, title, fields, spec.build, locations, path.adapter)
    return form.with_options(options or {})


def acting_role_field(roles: Sequence[tuple[str, str]]) -> Field:
    return Field(
        ACTING_ROLE,
        "Which of your roles are you taking this decision in?",
        "radios",
        required=True,
        hint="It is recorded with the decision",
        options=tuple(roles),
        missing="Select which of your roles you are taking this decision in",
    )


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
        "proposed_date": read_date(values, "proposed_date", "Proposed date of the conference"),
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
            hint="A date after the statutory limit.",
            missing="Enter the proposed date of the conference",
        ),
        reason("Why is a delay needed?", True, missing="Enter why a delay is needed"),
        Field(
            "safety_plan",
            "How will the child be kept safe until then?",
            "textarea",
            required=True,
            hint="The safety plan while the conference is delayed",
            missing="Enter how the child will be kept safe until then",
            wrong=f"How the child will be kept safe must be {TEXT_LIMIT} characters or fewer",
            max_length=TEXT_LIMIT,
        ),
    ),
    _delay,
)


def _capacity_problem(procedure: Procedure) -> FormSpec:
    problems = tuple((c.id, c.title) for c in procedure.capacity_escalations)
    return FormSpec(
        (
            Field(
                "problem",
                "What is the problem?",
                "radios",
                required=True,
                options=problems,
                missing="Select what the problem is",
            ),
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
                missing=("Select" if reasons else "Enter") + " why the conference is stood down",
            ),
            reason("Your rationale", True, missing="Enter your rationale"),
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


def _outcome(label: str, missing: str, *options: tuple[str, str]) -> Field:
    return Field("outcome", label, "radios", required=True, options=options, missing=missing)


HOLD_CONFERENCE = FormSpec(
    (
        _outcome(
            "What did the conference decide?",
            "Select what the conference decided",
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
            "Select what the review conference decided",
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
            missing="Select why the plan ends",
        ),
        reason("Your reasons", True, missing="Enter your reasons"),
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
            missing="Select whether the conference needs to be split",
        ),
        reason(
            "Known risks or concerns with the family's participation",
            True,
            "Whoever books the conference is told, so it can be arranged",
            missing="Enter the known risks or concerns with the family's participation",
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
    fields = [
        Field(
            "step",
            "Which step is done?",
            "select",
            required=True,
            options=steps,
            missing="Select which step is done",
        )
    ]
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


# Reassigning gives the case to another social worker: a person picked from those the case may
# be given to (in its team, holding the role, with an email address on record), by id only.
REASSIGNED_ROLE = SOCIAL_WORKER
PERSON = "person"


def _reassign_worker(procedure: Procedure) -> FormSpec:
    return FormSpec(
        (
            Field(
                PERSON,
                "Who takes the case over as its social worker?",
                "radios",
                required=True,
                hint="Social workers in this case's team with an email address on record",
                missing="Select who takes the case over as its social worker",
                empty="Nobody can take this case over: no other social worker in its team has"
                " an email address on record. An administrator can add people and addresses.",
            ),
            NOTES,
        ),
        copied("reason"),  # the contact is added by the page, from the person record picked
        {("contact",): PERSON},
    )


K = DecisionKind

FORMS: dict[DecisionKind, FormBuilder] = {
    # The ICPC case.
    K.CONFIRM_ICPC: _just(NOTES),
    K.WITHDRAW_ICPC: _just(
        reason(
            "Why is the ICPC no longer needed?",
            True,
            missing="Enter why the ICPC is no longer needed",
        )
    ),
    K.RECEIVE_CONVENING_SHEET: _fixed(FormSpec((*INVITEE_FIELDS, NOTES), invitees)),
    K.BOOK_CONFERENCE: _booking(NOTES),
    K.SHARE_REPORT: _just(NOTES),
    K.REQUEST_POLICE_CHECKS: _just(
        reason(
            "Why are police checks needed?",
            True,
            "The police will not run a check without a brief description of why",
            missing="Enter why police checks are needed",
        )
    ),
    K.REQUEST_DELAY: _fixed(REQUEST_DELAY),
    K.APPROVE_DELAY: _just(
        reason(
            "Your reasons for approving the delay",
            True,
            missing="Enter your reasons for approving the delay",
        )
    ),
    K.REJECT_DELAY: _just(
        reason(
            "Your reasons for rejecting the delay",
            True,
            missing="Enter your reasons for rejecting the delay",
        )
    ),
    K.REPORT_CAPACITY_PROBLEM: _capacity_problem,
    K.STAND_DOWN: _stand_down,
    K.REBOOK_CONFERENCE: _booking(NOTES),
    K.HOLD_CONFERENCE: _fixed(HOLD_CONFERENCE),
    K.RECORD_REPEAT_PLAN_OVERSIGHT: _just(
        reason("Your oversight, in your words", True, missing="Enter your oversight")
    ),
    K.ADVISE_CONFERENCE_SPLIT: _fixed(ADVISE_CONFERENCE_SPLIT),
    K.APPROVE_WITHOUT_INVITATIONS: _just(
        reason(
            "Why may the conference be held without its invitations?",
            True,
            missing="Enter why the conference may be held without its invitations",
        )
    ),
    K.RECORD_STEP: _record_step,
    # Either path.
    K.REASSIGN_WORKER: _reassign_worker,
    # The child protection plan after the ICPC.
    K.HOLD_CORE_GROUP: _fixed(HOLD_CORE_GROUP),
    K.SIGN_OFF_PLAN: _just(NOTES),
    K.SHARE_CONFERENCE_RECORD: _just(NOTES),
    K.SEND_REVIEW_ATTENDANCE_LIST: _just(NOTES),
    K.BOOK_REVIEW: _review_booking(NOTES),
    K.REQUEST_REVIEW_MOVE: _review_booking(
        reason(
            "Why move the review conference?",
            True,
            missing="Enter why the review conference should move",
        )
    ),
    K.APPROVE_REVIEW_MOVE: _just(NOTES),
    K.HOLD_REVIEW: _fixed(HOLD_REVIEW),
    K.END_PLAN: _fixed(END_PLAN),
}
