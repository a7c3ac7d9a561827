"""The decision machine is total (issue 22, section 1): whatever a decision or a start carries, the
rules answer with a refusal and its plain reason, never an error. A signal's decision is applied
inside the workflow, so an error there failed every workflow task after it, for good.

The domain tests come first, then Hypothesis feeding arbitrary payloads (dates across the whole
representable range, any text, fields missing or extra) through check and apply of every row of
both tables, on cases at several stages, and arbitrary starts through the start rules and the
planner. Every name and reference is invented.
"""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, ValidationError

from activities.planning import CALENDAR_AFTER, CALENDAR_BEFORE
from domain import case_rules, plan_rules
from domain.calendar import LONDON, WorkingDayTable
from domain.case_record import Stream
from domain.case_start import StartRefused, check_start
from domain.case_state import CaseState
from domain.decisions import ConfirmIcpc
from domain.path import DecisionRule, Path, PathState, Refusal
from domain.plan_state import PlanState
from domain.planner import plan
from domain.procedure import Procedure
from tests.case_helpers import (
    ALL_PROCEDURES,
    book,
    case_start,
    decide,
    decision,
    invitees,
    new_state,
    procedure,
    who,
)
from tests.test_plan_rules import ICPC_HELD, new_plan

STRATEGY = datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)  # a Monday, no bank holiday near
NOW = STRATEGY + timedelta(days=1)
FAR = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
# An offset that takes the instant past Python's last date once it is read in London time.
PAST_THE_END = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
FIRST = datetime(1, 1, 1, 0, 0, tzinfo=UTC)
COUNTS = "is outside the dates a case can count"


def confirmed(proc_id: str = "bct-management-note") -> CaseState:
    proc = procedure(proc_id)
    state = new_state(proc, STRATEGY)
    decide(state, decision(proc, "confirm_icpc"), STRATEGY + timedelta(hours=1))
    return state


def refused_everywhere(path: Path[Any], state: PathState, d: Any, now: datetime) -> str:
    """The reason both check and apply give, the state untouched."""
    before = state.model_dump()  # type: ignore[attr-defined]
    with pytest.raises(Refusal) as checked:
        path.check(state, d, now)
    with pytest.raises(Refusal) as applied:
        path.apply(state, d, now)
    assert state.model_dump() == before  # type: ignore[attr-defined]
    assert str(checked.value) == str(applied.value)
    return str(checked.value)


# --- the case's dates ---------------------------------------------------------------------------


@pytest.mark.parametrize("starts_at", [FAR, PAST_THE_END, FIRST])
def test_a_booking_date_outside_any_calendar_is_refused_with_its_reason(
    starts_at: datetime,
) -> None:
    """000 action 6: "the CP Conference Service will offer the Social Worker a date for the ICPC
    which is within timescale": a date no calendar holds is refused, as a plain reason."""
    state = confirmed()
    d = book(state.procedure, date(2026, 3, 10))
    d = d.model_copy(update={"booking": d.booking.model_copy(update={"starts_at": starts_at})})
    reason = refused_everywhere(case_rules.CASE_PATH, state, d, NOW)
    assert reason == (
        f"booking.starts_at: {starts_at.isoformat()} {COUNTS} (01 January 2000 to 31 December"
        " 2099)."
    )


def test_a_hold_date_outside_any_calendar_is_refused() -> None:
    """000: the conference is "held" on its booked date or after: a held_at of year 1 is not."""
    state = confirmed()
    proc = state.procedure
    decide(state, decision(proc, "receive_convening_sheet", invitees=invitees()), NOW)
    decide(state, book(proc, date(2026, 3, 16)), NOW)
    hold = decision(proc, "hold_conference", outcome="no_plan", held_at=FIRST)
    reason = refused_everywhere(
        case_rules.CASE_PATH, state, hold, datetime(2026, 3, 17, tzinfo=UTC)
    )
    assert reason.startswith(f"held_at: {FIRST.isoformat()} {COUNTS}")


def test_a_delay_to_a_date_beyond_the_cases_calendar_is_refused() -> None:
    """000 action 7: "ICPC should only be moved out of timescale with the approval of the Head of
    Service": a delay to a date the case cannot count to could never be booked or held."""
    state = confirmed()
    request = decision(
        state.procedure,
        "request_delay",
        reason="Family unavailable",
        proposed_date=date(2099, 1, 5),
        safety_plan="Daily visits",
    )
    reason = refused_everywhere(case_rules.CASE_PATH, state, request, NOW)
    assert reason == (
        f"05 January 2099 is too far ahead: this case counts working days to"
        f" {state.calendar.last:%d %B %Y}."
    )


def test_an_effect_that_still_breaks_is_a_refusal_and_leaves_the_state_as_it_was() -> None:
    """The rules' boundary: a rule whose effect raises on a value (a date its arithmetic cannot
    reach) is a refusal there, with the state restored, never an error out of apply."""

    def breaks(state: CaseState, d: ConfirmIcpc, now: datetime, fx: Any) -> str:
        state.confirmed_at = now  # half done when it breaks
        raise OverflowError("date value out of range")

    path: Path[CaseState] = Path(
        Stream.CASE,
        [DecisionRule(ConfirmIcpc, "confirm the ICPC", breaks)],
        closed=lambda s: None,
        watched=lambda s: [],
        mail_key=lambda s: "k",
    )
    state = new_state(procedure("bct-management-note"), STRATEGY)
    before = state.model_dump()
    with pytest.raises(Refusal, match="This decision cannot be taken: date value out of range"):
        path.apply(state, decision(state.procedure, "confirm_icpc"), NOW)
    assert state.model_dump() == before


# --- the plan's review dates ----------------------------------------------------------------------


def test_review_dates_outside_any_calendar_are_refused() -> None:
    """001 step 16: "Review Child Protection Conferences will be held within 3 months of the
    Initial Conference": a review booked or moved to year 9999 is refused, as is a next review."""
    state = new_plan()
    now = ICPC_HELD + timedelta(days=1)
    for kind, extra in (
        ("book_review", {}),
        ("request_review_move", {"reason": "Chair away"}),
    ):
        role = state.procedure.roles_for(kind)[0]  # type: ignore[arg-type]
        d = plan_rules.PLAN_DECISION.validate_python(
            {
                "kind": kind,
                "decided_by": who(role),
                "booking": {"starts_at": PAST_THE_END, "format": "virtual", "chair": "Chair A"},
                **extra,
            }
        )
        reason = refused_everywhere(plan_rules.PLAN_PATH, state, d, now)
        assert reason.startswith(f"booking.starts_at: {PAST_THE_END.isoformat()} {COUNTS}")


# --- the start ----------------------------------------------------------------------------------


def test_a_previous_plan_ended_after_the_strategy_discussion_is_refused() -> None:
    """004: "if a decision has been made to take a case back to conference within 12 months of
    the end of the previous child protection plan the Service Manager for your team must
    provide oversight": the previous plan ended before this discussion, never after it."""
    proc = procedure("leicestershire-leaflet")
    for ended in (date(2026, 3, 3), date(9999, 12, 31)):
        start = case_start(proc, STRATEGY, previous_plan_ended=ended)
        with pytest.raises(StartRefused) as refused:
            check_start(start, proc, NOW)
        assert str(refused.value) == (
            f"the previous child protection plan ended on {ended.isoformat()}, after the"
            " strategy discussion (2026-03-02): give the date it ended, on or before the"
            " discussion"
        )
    # The same day is a plan that ended at the discussion: the oversight is needed.
    check_start(case_start(proc, STRATEGY, previous_plan_ended=STRATEGY.date()), proc, NOW)


def test_a_case_holding_a_previous_plan_ended_far_ahead_still_answers() -> None:
    """A case started before the start refused it (the history holds 9999-12-31) reads its
    stage instead of failing: 004's oversight is simply needed."""
    state = new_state(
        procedure("leicestershire-leaflet"), STRATEGY, previous_plan_ended=date(9999, 12, 31)
    )
    assert state.needs_repeat_oversight
    assert state.stage == "awaiting_repeat_plan_oversight"


def test_a_strategy_discussion_past_pythons_last_date_is_refused() -> None:
    """000 action 2: "The countdown for holding an ICPC within timescale begins from the Strategy
    Meeting/Discussion": one that no calendar can hold is refused in words."""
    proc = procedure("bct-management-note")
    with pytest.raises(StartRefused, match="cannot be planned: only dates from 2000-01-01"):
        check_start(
            case_start(proc, STRATEGY).model_copy(update={"strategy_discussion": PAST_THE_END}),
            proc,
            NOW,
        )


# --- Hypothesis: arbitrary payloads through every row ----------------------------------------------

OFFSETS = st.sampled_from(
    [UTC, LONDON, timezone(timedelta(hours=14)), timezone(-timedelta(hours=23, minutes=59))]
)
ANY_INSTANT = st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=OFFSETS)
# Python's first and last days, where an offset or a month's arithmetic runs out of range.
EDGE_INSTANT = st.one_of(
    st.datetimes(min_value=datetime.min, max_value=datetime(1, 1, 2), timezones=OFFSETS),
    st.datetimes(min_value=datetime(9999, 12, 30), max_value=datetime.max, timezones=OFFSETS),
)
NEAR_INSTANT = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=OFFSETS
)
INSTANTS = st.one_of(ANY_INSTANT, EDGE_INSTANT, NEAR_INSTANT)
DATES = st.one_of(
    st.dates(),
    st.dates(min_value=date(9999, 12, 1)),
    st.dates(max_value=date(1, 1, 31)),
    st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
)


def _known_words(proc: Procedure) -> list[str]:
    """Ids a payload's text may name: its roles, stand-down reasons, steps, problems."""
    return [
        *(r.id for r in proc.roles),
        *(r.id for r in proc.stand_down_reasons),
        *(m.id for m in proc.steps()),
        *(c.id for c in proc.capacity_escalations),
        *(choice for m in proc.steps() for choice in m.choices),
    ]


def values_for(annotation: Any, words: list[str], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of ``annotation``'s type and beside it: wrong types and junk too, so the parse
    refuses some, and the rest reach the rules across their whole range."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return values_for(args[0], words, depth)
    if origin in (typing.Union, __import__("types").UnionType):
        return st.one_of(*(values_for(a, words, depth) for a in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is list:
        return st.lists(values_for(args[0], words, depth + 1), max_size=2 if depth < 2 else 0)
    if annotation is type(None):
        return st.none()
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from([e.value for e in annotation])
    if annotation in (datetime, AwareDatetime):
        return st.one_of(INSTANTS, INSTANTS.map(lambda at: at.isoformat()))
    if annotation is date:
        return st.one_of(DATES, DATES.map(date.isoformat))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return st.integers(min_value=-(10**6), max_value=10**6)
    if annotation is str:
        return st.one_of(st.sampled_from(words or ["x"]), st.text(max_size=12))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_payloads(annotation, words, depth + 1)
    return st.none()


# Mostly there: a payload reaches the rules only when the parse takes it.
PRESENT = st.sampled_from([True] * 7 + [False])


def model_payloads(
    model: type[BaseModel], words: list[str], depth: int = 0
) -> st.SearchStrategy[dict[str, Any]]:
    """A dict for ``model``: each field usually present, sometimes missing; now and then one
    field the model does not have."""
    fields = {
        name: st.tuples(PRESENT, values_for(f.annotation, words, depth))
        for name, f in model.model_fields.items()
        if name != "kind"
    }
    extra = st.dictionaries(st.just("extra"), st.text(max_size=4), max_size=1)
    return st.tuples(st.fixed_dictionaries(fields), PRESENT, extra).map(
        lambda drawn: {
            **{k: v for k, (present, v) in drawn[0].items() if present},
            **({} if drawn[1] else drawn[2]),
        }
    )


def deciders(proc: Procedure, kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Usually a role the procedure lets take ``kind``; sometimes any of its roles."""
    allowed = proc.roles_for(kind) or [r.id for r in proc.roles]  # type: ignore[arg-type]
    roles = st.one_of(st.sampled_from(allowed), st.sampled_from([r.id for r in proc.roles]))
    return st.fixed_dictionaries({"user": st.sampled_from(["user-a", "user-b"]), "role": roles})


def total(
    path: Path[Any], states: list[Callable[[], PathState]], now: datetime
) -> Callable[..., None]:
    """A property: any payload of any row, on any of ``states``, is taken or refused."""

    def prop(data: st.DataObject) -> None:
        state = data.draw(st.sampled_from(states))()
        proc = state.procedure
        rule = data.draw(st.sampled_from(list(path.rules.values())))
        payload = data.draw(model_payloads(rule.payload, _known_words(proc)))
        payload.update(kind=rule.kind.value, decided_by=data.draw(deciders(proc, rule.kind)))
        try:
            d = path.adapter.validate_python(payload)
        except ValidationError:
            return  # the faces' 422: refused before the rules
        at = data.draw(st.sampled_from([now, now + timedelta(days=12), now + timedelta(days=40)]))
        with contextlib.suppress(Refusal):
            path.check(state, d, at)
        try:
            path.apply(state, d, at)
        except Refusal:
            return
        path.on_clock(state, at)
        path.next_wakeup(state)

    return prop


def _case_at(stage: str, proc_id: str) -> Callable[[], PathState]:
    def build() -> PathState:
        proc = procedure(proc_id)
        state = new_state(proc, STRATEGY)
        if stage == "fresh":
            return state
        decide(state, decision(proc, "confirm_icpc"), STRATEGY + timedelta(hours=1))
        if stage == "booked":
            decide(state, decision(proc, "receive_convening_sheet", invitees=invitees()), NOW)
            # A procedure that books otherwise stays confirmed: a stage too.
            with contextlib.suppress(Refusal):
                decide(state, book(proc, date(2026, 3, 16)), NOW)
        return state

    return build


_CASE_STATES = {
    (stage, proc_id): _case_at(stage, proc_id)
    for stage in ("fresh", "confirmed", "booked")
    for proc_id in ALL_PROCEDURES
}
_BUILT: dict[tuple[str, str], PathState] = {}


def _cached(key: tuple[str, str]) -> Callable[[], PathState]:
    def copy() -> PathState:
        if key not in _BUILT:
            _BUILT[key] = _CASE_STATES[key]()
        return _BUILT[key].model_copy(deep=True)  # type: ignore[attr-defined,no-any-return]

    return copy


FAST = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@settings(FAST, max_examples=800)  # seventeen rows on fifteen cases: more draws to reach each
@given(st.data())
def test_every_case_decision_is_taken_or_refused_never_an_error(data: st.DataObject) -> None:
    total(case_rules.CASE_PATH, [_cached(k) for k in _CASE_STATES], NOW)(data)


_PLAN: list[PlanState] = []


def _plan() -> PathState:
    if not _PLAN:
        _PLAN.append(new_plan())
    return _PLAN[0].model_copy(deep=True)


@FAST
@given(st.data())
def test_every_plan_decision_is_taken_or_refused_never_an_error(data: st.DataObject) -> None:
    total(plan_rules.PLAN_PATH, [_plan], ICPC_HELD + timedelta(days=1))(data)


# --- Hypothesis: arbitrary starts through the start rules and the planner -------------------------


@settings(max_examples=300, deadline=None, database=None)
@given(
    proc_id=st.sampled_from(ALL_PROCEDURES),
    strategy=INSTANTS,
    ended=st.one_of(st.none(), DATES),
    offset_days=st.integers(min_value=-200, max_value=200),
)
def test_every_start_is_started_or_refused_never_an_error(
    proc_id: str, strategy: datetime, ended: date | None, offset_days: int
) -> None:
    proc = procedure(proc_id)
    try:
        start = case_start(proc, strategy, previous_plan_ended=ended)
    except ValidationError:
        return
    now = strategy + timedelta(days=offset_days) if abs(strategy.year - 2026) < 50 else NOW
    try:
        check_start(start, proc, now)
    except StartRefused:
        return
    # Accepted: it plans, and the case it starts reads its stage (as the first workflow task).
    schedule = plan(proc, start.strategy_discussion)
    day = start.strategy_discussion.astimezone(LONDON).date()
    state = CaseState(
        case_id="icpc-test",
        start=start,
        procedure=proc,
        calendar=WorkingDayTable.from_calendar(
            proc.calendar, day - CALENDAR_BEFORE, day + CALENDAR_AFTER
        ),
    )
    state.apply_schedule(schedule)
    assert state.stage
    case_rules.next_wakeup(state)
    case_rules.on_clock(state, now)
