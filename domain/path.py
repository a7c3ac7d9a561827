"""The decision machine both paths run on: a table of decision rules, a milestone clock, effects.

A *path* is the ICPC case (strategy discussion to conference) or the child protection plan after
it. Each is a table of :class:`DecisionRule` rows, one per decision: its payload model, its
title, when it is open (payload-free, so the faces can ask what is available), its check of what
the decision says, and its effect. Everything else is written once, here:

- ``check``: the procedure names the step, the role may take it, the path is not closed, the row
  is open, the row's own check. It refuses with a plain reason and changes nothing (update
  validators call it, so a refused update leaves no trace in history).
- ``apply``: checks again, marks the milestones the decision meets, applies the row's effect,
  records the decision and any notes it raised, and returns the :class:`Effects` for the
  workflow to carry out.
- ``available``: the decisions a role may take now, from the same open-when as ``check``.
- the clock: the next reminder or escalation due, and sending each once when it falls due.

No I/O and no clock: ``now`` is always passed in.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, Protocol, TypeVar, Union

from pydantic import BaseModel, Field, TypeAdapter

from domain.calendar import LONDON, WorkingDayTable, limit_passed_at
from domain.case_record import Stream
from domain.decisions import DecisionBase
from domain.milestones import MilestoneState, TimelineEntry
from domain.notices import FOR_INFORMATION, booking_lines, flag_email, milestone_email
from domain.outbox import EmailPurpose, OutgoingEmail
from domain.planner import PLANNABLE_FROM, PLANNABLE_TO
from domain.procedure import Procedure
from domain.vocabulary import DecisionKind
from domain.wording import capitalised, role_title, roles_text, with_article

if TYPE_CHECKING:
    from domain.case_state import CaseState
    from domain.decisions import Decider


class Refusal(ValueError):
    """A decision that does not fit the path now; the message is the plain reason."""


class PathState(Protocol):
    """What the machine needs of a path's state (the case's and the plan's both have it)."""

    timeline: list[TimelineEntry]
    milestones: list[MilestoneState]

    @property
    def timeline_length(self) -> int: ...

    def numbered(self, since: int = 0) -> Iterator[tuple[int, TimelineEntry]]: ...

    @property
    def procedure(self) -> Procedure: ...

    @property
    def case(self) -> CaseState: ...  # the ICPC case: whose contacts notices are sent to

    @property
    def calendar(self) -> WorkingDayTable: ...

    @property
    def is_open(self) -> bool: ...

    @property
    def statutory_due(self) -> datetime | None: ...

    def record(
        self,
        at: datetime,
        event: str,
        summary: str,
        by: Decider | None = None,
        reason: str = "",
        data: dict[str, Any] | None = None,
    ) -> None: ...


S = TypeVar("S", bound=PathState)
# A rule written for any path (reassign) also serves a path of a narrower state.
S_contra = TypeVar("S_contra", bound=PathState, contravariant=True)
D = TypeVar("D", bound=DecisionBase)


@dataclass
class Effects:
    """What the workflow must carry out after a decision or a tick of the clock."""

    emails: list[OutgoingEmail] = field(default_factory=list)
    replan: bool = False  # due dates depend on what changed: plan them again
    next_cycle: bool = False  # the plan goes on to its next review cycle
    ended: bool = False
    summary: str = ""  # an accepted decision, in plain words (as its timeline entry says)
    key: str = ""  # stable per decision: makes its notices' idempotency keys
    # (event, summary) notes the decision raised, recorded right after it.
    notes: list[tuple[str, str]] = field(default_factory=list)
    # The notices it sent: {"topic", "roles"}, kept with the decision for the record.
    notified: list[dict[str, Any]] = field(default_factory=list)
    # The dates the decision set, kept with its timeline entry's data under stable keys
    # ("booking", "delay", "conference", "review" ...), JSON-ready (ISO text): the reports read
    # these, not the summary's wording.
    data: dict[str, Any] = field(default_factory=dict)

    def add(self, email: OutgoingEmail | None) -> None:
        if email is not None:
            self.emails.append(email)

    def note(self, event: str, summary: str) -> None:
        self.notes.append((event, summary))


def _open(state: Any, role: str) -> str | None:
    return None


def _no_check(state: Any, decision: Any, now: datetime) -> None:
    return None


def _met_now(decision: Any, now: datetime) -> datetime:
    return now


def _meets_all(decision: Any, milestone_id: str) -> bool:
    return True


@dataclass(frozen=True)
class DecisionRule(Generic[S_contra, D]):
    """One decision on one path: everything about it, side by side."""

    payload: type[D]
    title: str  # what it does, after "may not": "confirm the ICPC"
    apply: Callable[[S_contra, D, datetime, Effects], str]  # changes the state; returns the summary
    # Payload-free precondition: None while the decision is open, else the reason it is not.
    open_when: Callable[[S_contra, str], str | None] = _open
    # Separation of duties: the user who may not take it now (who asked for it), and why.
    forbidden_to: Callable[[S_contra], tuple[str, str] | None] | None = None
    # What the decision itself says (dates, reasons), once it is open.
    check: Callable[[S_contra, D, datetime], None] = _no_check
    # Whether the procedure has this step at all (asked before anything else).
    in_procedure: Callable[[Procedure], str | None] | None = None
    # When the milestones the decision satisfies count as met (a core group held earlier...).
    met_at: Callable[[D, datetime], datetime] = _met_now
    # Which of the milestones it satisfies it meets (record_step: only the step it names).
    meets: Callable[[D, str], bool] = _meets_all

    @property
    def kind(self) -> DecisionKind:
        default = self.payload.model_fields["kind"].default
        return DecisionKind(default)


class Path(Generic[S]):
    """A table of decision rules and the milestone clock, for one kind of path."""

    def __init__(
        self,
        stream: Stream,
        rules: Sequence[DecisionRule[S, Any]],
        *,
        closed: Callable[[S], str | None],
        watched: Callable[[S], list[MilestoneState]],
        mail_key: Callable[[S], str],
    ) -> None:
        self.stream = stream
        self.rules: dict[DecisionKind, DecisionRule[S, Any]] = {r.kind: r for r in rules}
        if len(self.rules) != len(rules):
            raise ValueError(f"the {stream} path lists a decision twice")
        self._closed = closed
        self._watched = watched
        self._mail_key = mail_key
        payloads = tuple(r.payload for r in rules)
        # The decisions this path takes, as one discriminated union (parsed by kind).
        self.union: Any = decision_union(payloads)
        self.adapter: TypeAdapter[Any] = TypeAdapter(self.union)

    # --- the table -----------------------------------------------------------------------

    @property
    def kinds(self) -> list[DecisionKind]:
        return list(self.rules)

    def takes(self, kind: str) -> bool:
        return kind in self.rules

    def title(self, kind: str) -> str:
        rule = self.rules.get(kind)  # type: ignore[call-overload]
        return rule.title if rule is not None else "take this decision"

    # --- deciding ------------------------------------------------------------------------

    def check(self, state: S, decision: DecisionBase, now: datetime) -> None:
        """Raise :class:`Refusal` if ``decision`` does not fit the path now; change nothing."""
        kind = decision.kind  # type: ignore[attr-defined]
        rule = self.rules.get(kind)
        if rule is None:
            raise Refusal(f"'{kind}' is not a decision taken on the {self.stream}.")
        procedure = state.procedure
        if rule.in_procedure is not None and (missing := rule.in_procedure(procedure)):
            raise Refusal(missing)
        role = decision.decided_by.role
        if not procedure.roles_for(kind):
            raise Refusal(f"This procedure has no step to {rule.title}.")
        if not procedure.may_decide(role, kind):
            allowed = procedure.roles_for(kind)
            raise Refusal(
                f"{capitalised(with_article(role_title(procedure, role)))} may not {rule.title}"
                f" in this procedure; only {roles_text(procedure, allowed)} may."
            )
        closed = self._closed(state)
        if closed:
            raise Refusal(closed)
        barred = rule.forbidden_to(state) if rule.forbidden_to else None
        if barred is not None and barred[0] == decision.decided_by.user:
            raise Refusal(barred[1])
        try:
            shut = rule.open_when(state, role)
            if shut:
                raise Refusal(shut)
            uncountable = uncountable_date(decision)
            if uncountable:
                raise Refusal(uncountable)
            rule.check(state, decision, now)
        except Refusal:
            raise
        except ValueError as error:  # a date beyond the path's frozen calendar
            raise Refusal(f"That date is too far ahead to check: {error}.") from None
        except ArithmeticError as error:  # a date Python's own calendar cannot reach
            raise Refusal(f"A date in this decision cannot be counted: {error}.") from None

    def apply(self, state: S, decision: DecisionBase, now: datetime) -> Effects:
        """Check, then apply ``decision``: update the state, record it, return what must happen.

        Total: a value that still breaks the rule's effect (a date its arithmetic cannot reach)
        leaves the state as it was and is a :class:`Refusal`, never an error. A signal's
        decision is applied inside the workflow, where an error would fail every workflow task
        from then on (the signal stays in the history); a refusal is recorded instead.
        """
        self.check(state, decision, now)
        rule = self.rules[decision.kind]  # type: ignore[attr-defined]
        saved = copy.deepcopy(vars(state))  # cheap beside a decision's round trip
        try:
            return self._apply(rule, state, decision, now)
        except (ValueError, ArithmeticError) as error:
            vars(state).clear()
            vars(state).update(saved)
            raise Refusal(f"This decision cannot be taken: {error}.") from None

    def _apply(
        self, rule: DecisionRule[S, Any], state: S, decision: DecisionBase, now: datetime
    ) -> Effects:
        fx = Effects(key=self._mail_key(state))
        # Milestones first: a decision may start a new review cycle with milestones of its own.
        satisfy(
            state, rule.kind, rule.met_at(decision, now), lambda m_id: rule.meets(decision, m_id)
        )
        fx.summary = rule.apply(state, decision, now, fx)
        _tell(state, rule.kind, decision, fx)
        data = dict(fx.data)
        if fx.notified:
            data["notified"] = fx.notified
        state.record(now, rule.kind, fx.summary, decision.decided_by, decision.reason, data=data)
        for event, text in fx.notes:
            state.record(now, event, text)
        fx.ended = not state.is_open
        return fx

    def available(self, state: S, role: str, user: str | None = None) -> list[DecisionKind]:
        """The decisions ``role`` (and ``user``, when known) may take now: the same tests as
        :meth:`check`, minus what only the decision's content can tell (a date, say)."""
        if self._closed(state):
            return []
        procedure = state.procedure
        return [
            kind
            for kind, rule in self.rules.items()
            if (rule.in_procedure is None or rule.in_procedure(procedure) is None)
            and procedure.may_decide(role, kind)
            and not (user is not None and _barred(rule, state) == user)
            and rule.open_when(state, role) is None
        ]

    # --- the clock -----------------------------------------------------------------------

    def next_wakeup(self, state: S) -> tuple[datetime, str] | None:
        """The next instant a reminder or escalation falls due, and a plain name for its timer."""
        candidates: list[tuple[datetime, str]] = []
        for m in self._watched(state):
            if m.met_at is not None or m.planned.due is None:
                continue
            if not m.reminded and m.planned.remind_at is not None:
                candidates.append((m.planned.remind_at, f"Reminder: {m.planned.title}"))
            if not m.escalated:
                candidates.append((m.planned.due, f"Due: {m.planned.title}"))
        return min(candidates, default=None)

    def next_wakeup_with_timescale(self, state: S, now: datetime) -> tuple[datetime, str] | None:
        """:meth:`next_wakeup`, or sooner the midnight that ends the statutory limit's day: an
        open path still waiting turns out of timescale then, and its status must say so."""
        wake = self.next_wakeup(state)
        due = state.statutory_due if state.is_open else None
        if due is None:
            return wake
        turn = limit_passed_at(due)
        if turn <= now or (wake is not None and wake[0] <= turn):
            return wake
        return turn, "Statutory limit passes"

    def on_clock(self, state: S, now: datetime) -> Effects:
        """Send every reminder and escalation that has fallen due, each once.

        A path registered late sees several milestones already past: each is marked overdue
        and escalated once, and its reminder (now pointless) is skipped.
        """
        fx = Effects()
        for m in self._watched(state):
            due = m.planned.due
            if m.met_at is not None or due is None:
                continue
            if due <= now and not m.escalated:
                m.escalated = m.reminded = True
                roles = {"notified": m.planned.escalate_to, "milestone": m.id}
                state.record(now, "overdue", f"Overdue: {m.planned.title}", data=roles)
                _milestone_mail(state, m, EmailPurpose.ESCALATION, fx, now)
            elif (
                not m.reminded
                and m.planned.remind_at is not None
                and m.planned.remind_at <= now < due
            ):
                m.reminded = True
                roles = {"notified": m.planned.remind, "milestone": m.id}
                state.record(now, "reminder", f"Reminder sent: {m.planned.title}", data=roles)
                _milestone_mail(state, m, EmailPurpose.REMINDER, fx, now)
        return fx


def decision_union(payloads: tuple[type[DecisionBase], ...]) -> Any:
    """``Annotated[A | B | ..., Field(discriminator="kind")]`` over a table's payload models."""
    return Annotated[Union[payloads], Field(discriminator="kind")]  # noqa: UP007


def _barred(rule: DecisionRule[S, Any], state: S) -> str | None:
    barred = rule.forbidden_to(state) if rule.forbidden_to else None
    return barred[0] if barred else None


# --- pieces every rule may use ----------------------------------------------------------------


def refuse_if(test: Callable[[Any], bool], reason: str) -> Callable[[Any, str], str | None]:
    """An open-when written in the row itself: closed, with ``reason``, while ``test`` holds."""

    def open_when(state: Any, role: str) -> str | None:
        return reason if test(state) else None

    return open_when


def uncountable_date(value: Any, where: str = "") -> str | None:
    """Why a date or time ``value`` carries (at any depth: a booking's start, an invitee's
    dates to avoid) is outside the dates a case can count, or None when every one is inside.

    The same range the planner counts strategy discussions in (:data:`PLANNABLE_FROM` to
    :data:`PLANNABLE_TO`): a date outside is a typing mistake (9999-12-31, 0001-01-01) that
    the rules' own arithmetic, or Python's dates, would run out of range on.
    """
    if isinstance(value, datetime | date):
        try:
            day = value.astimezone(LONDON).date() if isinstance(value, datetime) else value
        except (OverflowError, ValueError):
            day = None
        if day is not None and PLANNABLE_FROM <= day <= PLANNABLE_TO:
            return None
        return (
            f"{where + ': ' if where else ''}{value.isoformat()} is outside the dates a case can"
            f" count ({PLANNABLE_FROM:%d %B %Y} to {PLANNABLE_TO:%d %B %Y})."
        )
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found = uncountable_date(getattr(value, name), f"{where}.{name}" if where else name)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for number, item in enumerate(value):
            found = uncountable_date(item, f"{where}.{number}")
            if found:
                return found
    return None


def day_of(at: datetime) -> date:
    """The London calendar day of an instant."""
    return at.astimezone(LONDON).date()


def satisfy(
    state: PathState,
    satisfier: str,
    at: datetime,
    which: Callable[[str], bool] = lambda milestone_id: True,
) -> None:
    """Mark met, at ``at``, every open milestone that ``satisfier`` records (of those ``which``
    accepts by id)."""
    for m in state.milestones:
        if m.met_at is None and satisfier in m.planned.satisfied_by and which(m.id):
            m.met_at = at


def flag(
    state: PathState, fx: Effects, roles: list[str], topic: str, text: str, suffix: str = ""
) -> None:
    """A one-off notice to ``roles``; a role nobody can be emailed for is noted in the timeline."""
    email, missing = flag_email(state.case, roles, topic, text, fx.key + suffix)
    fx.add(email)
    fx.notified.append({"topic": topic, "roles": roles})
    if missing:
        fx.note("no_address", unaddressed(missing, topic))


def _tell(state: PathState, kind: DecisionKind, decision: DecisionBase, fx: Effects) -> None:
    """The people the procedure says are told of this decision (its ``[[told]]``), copied for
    information; anyone the decision's own notices reached already is not told twice."""
    proc = state.procedure
    if fx.data.get("withdrawal", {}).get("status") == "requested":
        return  # only asked for, waiting for agreement: told once it is withdrawn
    for n, told in enumerate(proc.told_on(kind)):
        reached = {role for notice in fx.notified for role in notice["roles"]}
        roles = [r for r in told.roles if r not in reached]
        if not roles:
            continue
        by = decision.decided_by
        text = f"{fx.summary}: recorded by {with_article(role_title(proc, by.role))} ({by.user})."
        if decision.reason:
            text += f"\n\nReason: {decision.reason}"
        booking = state.case.booking
        if booking is not None and state.case.is_open:
            text += f"\n\nThe conference:\n{booking_lines(booking)}"
        if told.note:
            text += f"\n\n{told.note}"
        text += f"\n\n{FOR_INFORMATION}"
        flag(state, fx, roles, capitalised(fx.summary), text, f"t{n}")


def unaddressed(roles: list[str], topic: str) -> str:
    return f"No address for {', '.join(roles)}: '{topic}' not emailed to them"


def _milestone_mail(
    state: PathState, m: MilestoneState, purpose: EmailPurpose, fx: Effects, now: datetime
) -> None:
    email, missing = milestone_email(state.case, m, purpose)
    fx.add(email)
    if missing:
        state.record(now, "no_address", unaddressed(missing, m.planned.title))
