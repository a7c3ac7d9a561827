"""What a case's recorded events say happened, read once for every report.

The record keeps each decision as the path recorded it: who, in which role, when, the reason
given, the summary the path wrote and its structured data (:mod:`domain.case_rules`,
:mod:`domain.plan_rules`). The dates a report needs that are not among the case summary's
fields (the date a conference was booked for, the date a delay was asked for, a review's due
date and the date it was held) are in each decision's data under stable keys (``booking``,
``delay``, ``conference``, ``withdrawal``, ``review``, ``move``, ``next_review``: see
:data:`DATED_EVENTS`), and this module reads them there.

Events recorded before the decisions kept their dates in their data have only the summary's
wording, written by :func:`domain.notices.when` ("Monday 30 March 2026 at 10:00") or as
"30 March 2026": for those alone (no structured part under the key) the facts fall back to
reading the wording, here and nowhere else. The reports read the facts.

A case the facts cannot place (a conference held with no booking recorded, say) carries its
reasons in ``problems``: every report lists it as a data-quality exception.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.calendar import add_calendar_months
from domain.procedure import Procedure
from domain.reports.history import CaseHistory, Event, Who, london_day
from domain.reports.workdays import WorkingDayIndex

_MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}
_DATE = r"(\d{1,2}) (" + "|".join(_MONTHS) + r") (\d{4})"
# domain.notices.when: "%A %d %B %Y at %H:%M"
_WHEN = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day " + _DATE + r" at \d{2}:\d{2}"

_BOOKED = re.compile(r"^Conference (?:re)?booked for " + _WHEN)
_HELD = re.compile(r"^Conference held on " + _WHEN)
_DELAY_TO = re.compile(r"^Delay requested to " + _DATE)
_LATE_REQUEST = re.compile(r"\(late: working day \d+")
_REVIEW_DUE = re.compile(r"^Review (\d+) falls due by " + _WHEN)
_REVIEW_BOOKED = re.compile(r"^Review (\d+) booked for " + _WHEN)
_MOVE_REQUESTED = re.compile(
    r"^Move of review (\d+) to " + _WHEN + r" requested \((within timescale|OUT OF TIMESCALE)\)"
)
_MOVED = re.compile(r"review (\d+) moved to " + _WHEN + r" \((out of timescale|within timescale)")
_REVIEW_HELD = re.compile(r"^Review (\d+) held on " + _WHEN + r"( \(out of timescale\))?")
_NEXT_BOOKED = re.compile(r"review (\d+) booked for " + _WHEN + r"$")

# The events whose data the facts read (the record's query decodes no other event's data).
DATED_EVENTS = frozenset(
    {
        "withdraw_icpc",  # {"withdrawal": {"status": "requested" | "withdrawn"}}
        "book_conference",  # {"booking": {"starts_at": ISO instant, "format"}}
        "rebook_conference",
        "request_delay",  # {"delay": {"proposed_date": ISO date, "late", "working_day", ...}}
        "hold_conference",  # {"conference": {"held_at": ISO instant, "outcome"}}
        "review_cycle",  # {"review": {"number", "due": ISO instant, "after"}}
        "book_review",  # {"review": {"number", "booked_for": ISO instant, ...}}
        # {"review": {"number", "booked_for" once moved}, "move": {"to", "out_of_timescale",
        # "took_effect"}}
        "request_review_move",
        "approve_review_move",
        # {"review": {"number", "held_at", "due", "out_of_timescale", "plan_ends"},
        #  "next_review": {"number", "booked_for"} when booked at the review}
        "hold_review",
    }
)

CASE_DECISIONS = frozenset({"confirm_icpc", "withdraw_icpc", "receive_convening_sheet"})
# What the facts of how an ICPC ended need (bookings, stand-downs, delays, the conference).
ICPC_OUTCOME_EVENTS = frozenset(
    {
        "withdraw_icpc",
        "book_conference",
        "rebook_conference",
        "stand_down",
        "request_delay",
        "approve_delay",
        "reject_delay",
        "hold_conference",
    }
)
# What the facts of the reviews need.
REVIEW_EVENTS = frozenset(
    {
        "review_cycle",
        "book_review",
        "request_review_move",
        "approve_review_move",
        "hold_review",
        "end_plan",
    }
)
# The events the reports read; the record's query may leave every other event out.
# Every event a report reads; the record's query leaves the others (reminders, notices) out,
# and each report asks only for those it reads (its ``READS``).
CASE_EVENTS = frozenset({"case_started", *CASE_DECISIONS, *ICPC_OUTCOME_EVENTS})
PLAN_EVENTS = REVIEW_EVENTS


_DAYS: dict[tuple[str | Any, ...], date] = {}


def _day(found: re.Match[str], first: int = 1) -> date:
    """The date a pattern matched, by its day, month name and year groups (from ``first``)."""
    key = found.group(first, first + 1, first + 2)
    day = _DAYS.get(key)
    if day is None:
        day = _DAYS[key] = date(int(key[2]), _MONTHS[key[1]], int(key[0]))
    return day


def _part(data: Mapping[str, Any] | None, key: str) -> Mapping[str, Any] | None:
    """The structured part ``key`` of an event's data; None for an event recorded before the
    decisions kept their dates in their data (the caller then reads the wording)."""
    part = data.get(key) if data else None
    return part if isinstance(part, Mapping) else None


def _instant_day(part: Mapping[str, Any] | None, key: str) -> date | None:
    """The London date of the ISO instant ``part[key]`` (None: absent or not an instant)."""
    value = part.get(key) if part is not None else None
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return london_day(at) if at.tzinfo is not None else None


def _iso_date(part: Mapping[str, Any] | None, key: str) -> date | None:
    value = part.get(key) if part is not None else None
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _number(part: Mapping[str, Any] | None) -> int | None:
    value = part.get("number") if part is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def who(by: Who | None) -> str:
    """A decider as the lists show them: their sign-in id and role."""
    return f"{by.user} ({by.role.replace('_', ' ')})" if by else "the system"


# --- the ICPC ------------------------------------------------------------------------------------


@dataclass
class DelayFacts:
    """One request to hold the ICPC after the statutory limit, and what was decided."""

    requested: Event
    proposed: date | None
    late_request: bool  # made after the day the procedure asks requests by
    decision: Event | None = None  # approve_delay or reject_delay

    @property
    def status(self) -> str:
        if self.decision is None:
            return "pending"
        return "approved" if self.decision.event == "approve_delay" else "rejected"


@dataclass
class IcpcFacts:
    """The ICPC case's path, as its events tell it."""

    strategy_day: date
    deadline_day: date | None
    started: Event | None = None
    decision: Event | None = None  # the first confirm, withdraw or convening sheet
    confirmed: Event | None = None  # the first confirmation (or convening sheet)
    bookings: list[date] = field(default_factory=list)  # every date booked, in order
    booking: date | None = None  # the date booked now (None after a stand-down)
    stand_downs: list[Event] = field(default_factory=list)
    delays: list[DelayFacts] = field(default_factory=list)
    held: Event | None = None
    held_day: date | None = None
    withdrawn_day: date | None = None
    closed_day: date | None = None  # stood down as no longer needed: the case ended
    problems: list[str] = field(default_factory=list)

    @property
    def approved_delay(self) -> DelayFacts | None:
        return next((d for d in reversed(self.delays) if d.status == "approved"), None)

    @property
    def latest_delay(self) -> DelayFacts | None:
        return self.delays[-1] if self.delays else None

    @property
    def registered_day(self) -> date | None:
        """The day the case was started, when that was after day 0 (registered late)."""
        if self.started is None:
            return None
        started = london_day(self.started.at)
        return started if started > self.strategy_day else None

    def ended_by(self, day: date) -> bool:
        """Withdrawn, or stood down for good, on or before ``day``: no conference to hold."""
        ended = self.withdrawn_day or self.closed_day
        return ended is not None and ended <= day

    def held_by(self, day: date) -> bool:
        return self.held_day is not None and self.held_day <= day


def icpc_facts(history: CaseHistory) -> IcpcFacts:
    facts = IcpcFacts(
        strategy_day=history.strategy_day,
        deadline_day=london_day(history.icpc_deadline) if history.icpc_deadline else None,
    )
    withdrawn_at: datetime | None = None
    held_day: date | None = None
    for event in history.events:
        kind = event.event
        if kind == "case_started":
            facts.started = event
        elif kind in CASE_DECISIONS:
            facts.decision = facts.decision or event
            if kind != "withdraw_icpc":
                facts.confirmed = facts.confirmed or event
            elif _withdrawn(event):  # not a request awaiting agreement
                withdrawn_at = event.at
        elif kind in ("book_conference", "rebook_conference"):
            day = _instant_day(_part(event.data, "booking"), "starts_at")
            if day is None:  # recorded before bookings kept their date in their data
                booked = _BOOKED.match(event.summary)
                day = _day(booked) if booked else None
            if day is not None:
                facts.booking = day
                facts.bookings.append(day)
        elif kind == "stand_down":
            facts.stand_downs.append(event)
            facts.booking = None
        elif kind == "request_delay":
            facts.delays.append(_delay(event))
        elif kind in ("approve_delay", "reject_delay") and facts.delays:
            facts.delays[-1].decision = event
        elif kind == "hold_conference":
            facts.held = event
            held_day = _instant_day(_part(event.data, "conference"), "held_at")
    _settle(facts, history, withdrawn_at, held_day)
    return facts


def _withdrawn(event: Event) -> bool:
    """A withdrawal that took effect, not a request awaiting the chair's agreement."""
    withdrawal = _part(event.data, "withdrawal")
    if withdrawal is not None:
        return withdrawal.get("status") == "withdrawn"
    return event.summary.startswith("ICPC withdrawn")  # recorded before withdrawals said so


def _delay(event: Event) -> DelayFacts:
    delay = _part(event.data, "delay")
    proposed = _iso_date(delay, "proposed_date")
    if delay is not None and proposed is not None:
        return DelayFacts(
            requested=event, proposed=proposed, late_request=delay.get("late") is True
        )
    # Recorded before delay requests kept their date in their data: the summary's wording.
    worded = _DELAY_TO.match(event.summary)
    return DelayFacts(
        requested=event,
        proposed=_day(worded) if worded else None,
        late_request=bool(_LATE_REQUEST.search(event.summary)),
    )


def _settle(
    facts: IcpcFacts, history: CaseHistory, withdrawn_at: datetime | None, held_day: date | None
) -> None:
    """How the path ended, from the case summary where it says (else the hold_conference
    decision's data, else its wording), and what cannot be placed."""
    if history.icpc_held_at is not None:
        facts.held_day = london_day(history.icpc_held_at)
    elif held_day is not None:
        facts.held_day = held_day
    elif facts.held is not None:  # recorded before holds kept their date in their data
        held = _HELD.match(facts.held.summary)
        facts.held_day = _day(held) if held else None
    if history.stage == "withdrawn":
        at = withdrawn_at or history.closed_at
        facts.withdrawn_day = london_day(at) if at else None
    elif history.stage == "closed" and facts.held_day is None:
        at = facts.stand_downs[-1].at if facts.stand_downs else history.closed_at
        facts.closed_day = london_day(at) if at else None
    if facts.deadline_day is None:
        facts.problems.append("no ICPC deadline recorded")
    if facts.held is not None and facts.held_day is None:
        facts.problems.append("conference recorded as held without a date")
    if facts.held_day is not None:
        if facts.held is None:
            facts.problems.append("conference date recorded without a hold_conference decision")
        if not facts.bookings:
            facts.problems.append("conference held but no booking recorded")
        if facts.held_day < facts.strategy_day:
            facts.problems.append("conference held before the strategy discussion")


# --- the plan's review conferences -----------------------------------------------------------


@dataclass
class MoveFacts:
    """A request to move a review, and the agreements given to it."""

    requested: Event
    to_day: date
    out_of_timescale: bool
    agreements: list[Event] = field(default_factory=list)
    took_effect: bool = False


@dataclass
class ReviewFacts:
    number: int  # 1: the first review after the ICPC
    due_day: date | None = None
    booked_day: date | None = None
    held_day: date | None = None
    marked_out_of_timescale: bool = False  # the path said so when it was held
    moves: list[MoveFacts] = field(default_factory=list)

    @property
    def agreed_late_move(self) -> MoveFacts | None:
        """The move out of timescale that took effect (its reason and who agreed)."""
        return next((m for m in reversed(self.moves) if m.out_of_timescale and m.took_effect), None)


@dataclass
class PlanFacts:
    reviews: list[ReviewFacts] = field(default_factory=list)
    ended_day: date | None = None
    problems: list[str] = field(default_factory=list)

    def get(self, number: int) -> ReviewFacts | None:
        for review in self.reviews:
            if review.number == number:
                return review
        return None

    def review(self, number: int) -> ReviewFacts:
        """Review ``number``, made on first mention."""
        if self.reviews and self.reviews[-1].number == number:
            return self.reviews[-1]
        review = self.get(number)
        if review is not None:
            return review
        review = ReviewFacts(number=number)
        self.reviews.append(review)
        if len(self.reviews) > 1 and self.reviews[-2].number > number:
            self.reviews.sort(key=lambda r: r.number)
        return review

    @property
    def current(self) -> ReviewFacts | None:
        """The review the plan works towards now (none held yet), while the plan is open."""
        if self.ended_day is not None or not self.reviews:
            return None
        last = self.reviews[-1]
        return last if last.held_day is None else None


def plan_facts(events: Sequence[Event]) -> PlanFacts:
    facts = PlanFacts()
    cycle = 1
    for event in events:
        kind = event.event
        if kind == "end_plan":
            facts.ended_day = london_day(event.at)
            continue
        if kind not in DATED_EVENTS:
            continue
        data = event.data
        review = _part(data, "review")
        number = _number(review)
        if number is None:  # recorded before the plan's decisions kept their dates in data
            cycle = _worded_plan_event(facts, event, cycle)
            continue
        if kind == "review_cycle":
            due = _instant_day(review, "due")
            if due is not None:
                cycle = number
                facts.review(number).due_day = due
        elif kind == "book_review":
            booked = _instant_day(review, "booked_for")
            if booked is not None:
                facts.review(number).booked_day = booked
        elif kind in ("request_review_move", "approve_review_move"):
            _move(facts.review(number), event, review, _part(data, "move"))
        elif kind == "hold_review":
            held = _instant_day(review, "held_at")
            if held is not None:
                _held(facts, facts.review(number), held, review)
            following = _part(data, "next_review")
            booked = _instant_day(following, "booked_for")
            following_number = _number(following)
            if booked is not None and following_number is not None:
                facts.review(following_number).booked_day = booked
    return facts


def _move(
    review: ReviewFacts,
    event: Event,
    part: Mapping[str, Any] | None,
    move: Mapping[str, Any] | None,
) -> None:
    """A move requested (a new one) or agreed (the latest), from the decision's data."""
    if event.event == "request_review_move":
        to_day = _instant_day(move, "to")
        if move is None or to_day is None:
            return
        review.moves.append(MoveFacts(event, to_day, move.get("out_of_timescale") is True))
    elif review.moves:
        review.moves[-1].agreements.append(event)
    if move is not None and move.get("took_effect") is True and review.moves:
        booked = _instant_day(part, "booked_for") or _instant_day(move, "to")
        if booked is not None:
            review.booked_day = booked
        review.moves[-1].took_effect = True


def _held(
    facts: PlanFacts, review: ReviewFacts, held: date, part: Mapping[str, Any] | None
) -> None:
    review.held_day = held
    review.marked_out_of_timescale = part is not None and part.get("out_of_timescale") is True
    if review.booked_day is None:
        facts.problems.append(f"review {review.number} held but no booking recorded")
    if part is not None and part.get("plan_ends") is True:
        facts.ended_day = held


def _worded_plan_event(facts: PlanFacts, event: Event, cycle: int) -> int:
    """A plan event recorded before the plan's decisions kept their dates in their data, read
    from its summary's wording; the review cycle it leaves the plan in."""
    kind, text = event.event, event.summary
    if kind == "review_cycle":
        due = _REVIEW_DUE.match(text)
        if due:
            cycle = int(due.group(1))
            facts.review(cycle).due_day = _day(due, 2)
    elif kind == "book_review":
        booked = _REVIEW_BOOKED.match(text)
        if booked:
            facts.review(int(booked.group(1))).booked_day = _day(booked, 2)
    elif kind == "request_review_move":
        asked = _MOVE_REQUESTED.match(text)
        if asked:
            review = facts.review(int(asked.group(1)))
            out = asked.group(5) == "OUT OF TIMESCALE"
            review.moves.append(MoveFacts(event, _day(asked, 2), out))
            _moved(review, text)
    elif kind == "approve_review_move":
        review = facts.review(cycle)
        if review.moves:
            review.moves[-1].agreements.append(event)
        _moved(review, text)
    elif kind == "hold_review":
        held = _REVIEW_HELD.match(text)
        if held:
            review = facts.review(int(held.group(1)))
            review.held_day = _day(held, 2)
            review.marked_out_of_timescale = bool(held.group(5))
            if review.booked_day is None:
                facts.problems.append(f"review {review.number} held but no booking recorded")
            if text.endswith(": the plan ends"):
                facts.ended_day = review.held_day
        following = _NEXT_BOOKED.search(text)
        if following:
            facts.review(int(following.group(1))).booked_day = _day(following, 2)
    return cycle


def _moved(review: ReviewFacts, text: str) -> None:
    moved = _MOVED.search(text)
    if moved and review.moves:
        review.booked_day = _day(moved, 2)
        review.moves[-1].took_effect = True


def review_due(
    review: ReviewFacts,
    plan: PlanFacts,
    icpc_held_day: date | None,
    procedure: Procedure | None,
    index: WorkingDayIndex | None,
) -> date | None:
    """The review's due date: as the plan recorded it, else counted as the plan counts it (the
    last working day on or before the interval after the conference before it)."""
    if review.due_day is not None:
        return review.due_day
    if procedure is None or index is None:
        return None
    previous = plan.get(review.number - 1)
    before = icpc_held_day if review.number == 1 else previous.held_day if previous else None
    if before is None:
        return None
    interval = procedure.reviews.first if review.number == 1 else procedure.reviews.then
    if interval.days is not None:
        limit = before + timedelta(days=interval.days)
    else:
        assert interval.months is not None
        limit = add_calendar_months(before, interval.months)
    return index.previous_working_day(limit)
