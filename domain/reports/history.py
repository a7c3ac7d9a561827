"""What every report reads and counts over: one case's history, a period, a case not placed.

A :class:`CaseHistory` is one case as the case record holds it: the summary's fields and the
events of its three streams (the ICPC case, the plan after it, and the reviews of its decision).
Every figure of every report is a pure function of a list of these; the record's query
(``records/reports_query.py``) loads them, tests make them by hand.

A :class:`Period` is a run of whole days, both ends included, in England's calendar (dates, not
instants: a conference "held in May" is held on a London date in May).
"""

from __future__ import annotations

import json
import re
from calendar import monthrange
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict

from domain.calendar import LONDON
from domain.case_record import CaseSummary, Stream


class PeriodError(ValueError):
    """A period no report can be made for; the message is one plain line."""


def london_day(at: datetime) -> date:
    """The date in England of an aware instant. England is UTC or UTC+1, so the UTC date is the
    English one except from 23:00 UTC in summer time: only then is the zone asked (a hundred
    thousand of these per report: the zone's own conversion would be a good part of it)."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    if at.hour < 23:
        return at.date()
    return at.astimezone(LONDON).date()


class Who(Protocol):
    """Who took a decision: a sign-in id and a role (a :class:`domain.decisions.Decider`)."""

    @property
    def user(self) -> str: ...

    @property
    def role(self) -> str: ...


class Event(Protocol):
    """One recorded event as the reports read it: a :class:`domain.case_record.RecordedEvent`
    (tests make those), or the record query's lighter :class:`ReportEvent`."""

    @property
    def at(self) -> datetime: ...

    @property
    def event(self) -> str: ...

    @property
    def by(self) -> Who | None: ...

    @property
    def summary(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def data(self) -> Mapping[str, Any]: ...


class Actor(NamedTuple):
    user: str
    role: str


class ReportEvent(NamedTuple):
    """A recorded event, as plain as it can be: the record's query makes a hundred thousand of
    these for a report over ten authorities' year, straight from the database's rows, where a
    validated model each would cost more than the report itself.

    ``raw_at`` is the instant as the database gave it (SQLite's UTC text is parsed only when a
    report asks for ``at``); ``likelihood`` is the one item of a case start's data the reports
    read, and ``raw_data`` the data of a review entry or of a decision whose dates the reports
    read (``facts.DATED_EVENTS``; JSON text on SQLite, decoded on each read of ``data``).
    """

    raw_at: datetime | str
    event: str
    by_user: str | None
    by_role: str | None
    summary: str
    reason: str = ""
    likelihood: str | None = None
    raw_data: Any = None
    case_id: str = ""
    stream: str = ""

    @property
    def at(self) -> datetime:
        raw = self.raw_at
        if isinstance(raw, datetime):
            return raw
        return datetime.fromisoformat(raw + "+00:00")

    @property
    def by(self) -> Actor | None:
        if self.by_user is None or self.by_role is None:
            return None
        return Actor(self.by_user, self.by_role)

    @property
    def data(self) -> Mapping[str, Any]:
        raw = self.raw_data
        if isinstance(raw, str):
            decoded = json.loads(raw)
            return decoded if isinstance(decoded, dict) else {}
        if isinstance(raw, dict):
            return raw
        return {"likelihood": self.likelihood} if self.likelihood else {}


@dataclass(slots=True)
class CaseHistory:
    """One case as the reports read it: its summary's fields and its recorded events.

    - ``events``: the ICPC case's stream (strategy discussion to conference), by position.
    - ``plan_events``: the child protection plan's stream after it (reviews), by position.
    - ``review_events``: Heads of Service's reviews of the case's decision, recorded outside
      its workflows (000 action 16, ``Stream.REVIEW``), by position.

    Each stream's events are :class:`Event`: ``RecordedEvent`` as the record keeps them (tests
    make those), or :class:`ReportEvent`. The loader may leave out events no report reads
    (reminders, notices) and the data of those whose data no report reads; it keeps every
    decision and the case's start. ``area`` and ``team`` are the case's, where the record
    carries them (None: not recorded).
    """

    case_id: str
    case_reference: str
    procedure_id: str
    strategy_discussion: datetime
    icpc_deadline: datetime | None = None
    team: str | None = None
    area: str | None = None
    stage: str = ""
    is_open: bool = True
    icpc_held_at: datetime | None = None
    outcome: str | None = None
    closed_at: datetime | None = None
    events: Sequence[Event] = ()
    plan_events: Sequence[Event] = ()
    review_events: Sequence[Event] = ()

    @classmethod
    def from_summary(
        cls, summary: CaseSummary, streams: Mapping[Stream, Sequence[Event]]
    ) -> CaseHistory:
        """The case as its record summary and its streams' events hold it."""
        values = summary.model_dump(include=set(_SUMMARY_FIELDS))
        return cls(
            **values,
            events=streams.get(Stream.CASE, ()),
            plan_events=streams.get(Stream.PLAN, ()),
            review_events=streams.get(Stream.REVIEW, ()),
        )

    @property
    def strategy_day(self) -> date:
        """Day 0: the strategy discussion's own date in England."""
        return london_day(self.strategy_discussion)

    @property
    def likelihood(self) -> str | None:
        """The social worker's view at the strategy discussion (000 action 3), as recorded
        with the case's start: likely, possible or unlikely (None: not recorded)."""
        for event in self.events:
            if event.event == "case_started":
                value = event.data.get("likelihood") if event.data else None
                return str(value) if value else None
        return None


class Unplaced(BaseModel):
    """A case a report could not place, and why: a data-quality exception, never dropped."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    case_reference: str
    reason: str


def unplaced_by_reason(unplaced: list[Unplaced]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in unplaced:
        counts[item.reason] = counts.get(item.reason, 0) + 1
    return dict(sorted(counts.items()))


# --- periods -----------------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
# The years a report counts: the reporting years Period.year_to_march knows (year 1 has no month
# before it, which the lists and the audit sample read), and no date so far out that a day after
# it is past what a date can hold.
FIRST_YEAR, LAST_YEAR = 2001, 2099


def _countable_year(text: str, year: int) -> int:
    """The year of a month or quarter, refused in one line when no report can count it (year 1
    has no month before it, which the lists and the audit sample read)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(
            f"'{text.strip()}' is out of range: a report counts {FIRST_YEAR} to {LAST_YEAR}"
        )
    return year


class Period(BaseModel):
    """Whole days from ``start`` to ``end``, both included (London dates)."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    label: str

    @classmethod
    def between(cls, start: date, end: date, label: str = "") -> Period:
        if end < start:
            raise PeriodError(
                f"the period is inverted: it ends ({end.isoformat()}) before it starts"
                f" ({start.isoformat()})"
            )
        return cls(start=start, end=end, label=label or f"{start.isoformat()} to {end.isoformat()}")

    @classmethod
    def month(cls, text: str) -> Period:
        """``YYYY-MM``: that calendar month."""
        found = _MONTH.match(text.strip())
        if not found:
            raise PeriodError(f"'{text}' is not a month (YYYY-MM, for example 2026-05)")
        year, number = _countable_year(text, int(found.group(1))), int(found.group(2))
        start = date(year, number, 1)
        end = date(year, number, monthrange(year, number)[1])
        return cls(start=start, end=end, label=f"{start:%B} {year:04d}")  # %Y gives "1" for 0001

    @classmethod
    def quarter(cls, text: str) -> Period:
        """``YYYY-Qn``: calendar quarter n of the year (Q1 is January to March)."""
        found = _QUARTER.match(text.strip())
        if not found:
            raise PeriodError(f"'{text}' is not a quarter (YYYY-Qn, for example 2026-Q2)")
        year, number = _countable_year(text, int(found.group(1))), int(found.group(2))
        first = 3 * (number - 1) + 1
        start = date(year, first, 1)
        end = date(year, first + 2, monthrange(year, first + 2)[1])
        label = f"{year:04d} Q{number} ({start:%B} to {end:%B} {year:04d})"
        return cls(start=start, end=end, label=label)

    @classmethod
    def year_to_march(cls, year: int) -> Period:
        """The reporting year ending 31 March ``year`` (DfE's "reporting year", and the
        children in need census year): 1 April ``year - 1`` to 31 March ``year``."""
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise PeriodError(f"{year} is not a reporting year this product can count")
        return cls(
            start=date(year - 1, 4, 1),
            end=date(year, 3, 31),
            label=f"year to 31 March {year} ({year - 1}-{year % 100:02d})",
        )

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end

    def months(self) -> list[Period]:
        """The calendar months the period touches, each clipped to it."""
        months = []
        year, number = self.start.year, self.start.month
        while date(year, number, 1) <= self.end:
            month = Period.month(f"{year:04d}-{number:02d}")
            start, end = max(month.start, self.start), min(month.end, self.end)
            months.append(Period(start=start, end=end, label=month.label))
            year, number = (year + 1, 1) if number == 12 else (year, number + 1)
        return months


def check_period(period: Period, today: date) -> None:
    """Refuse a period that has not begun (nothing can be counted in it yet), or that reaches
    outside the years the product can count."""
    if period.start.year < FIRST_YEAR or period.end.year > LAST_YEAR:
        raise PeriodError(
            f"{period.label} is outside the years a report can count ({FIRST_YEAR} to {LAST_YEAR})"
        )
    if period.start > today:
        raise PeriodError(
            f"{period.label} is in the future (today is {today.isoformat()}): nothing has"
            " happened in it yet"
        )


# The summary's fields a history carries: every field of CaseHistory but its event streams.
_SUMMARY_FIELDS = frozenset(
    f.name for f in fields(CaseHistory) if f.name not in {"events", "plan_events", "review_events"}
)
