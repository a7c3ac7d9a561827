"""The record store on SQLite and PostgreSQL: exactly-once appends, summaries, lists, timelines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from domain.case_record import RecordBatch, RecordedEvent, Stream
from domain.decisions import Decider
from records.database import upgrade
from records.store import CaseFilter, RecordStore
from tests.records.data import T0, batch, events, summary


@pytest.fixture
def store(database_url: str) -> Iterator[RecordStore]:
    upgrade(database_url)
    with RecordStore(database_url) as opened:
        yield opened


def positions(store: RecordStore, case_id: str = "case-1") -> list[tuple[Stream, int]]:
    return [(stream, event.position) for stream, event in store.timeline(case_id)]


# --- exactly once ------------------------------------------------------------------------------


def test_the_same_batch_twice_writes_each_event_once(store: RecordStore) -> None:
    assert store.append(batch(positions=range(3))) == 3
    assert store.append(batch(positions=range(3))) == 0
    assert positions(store) == [(Stream.CASE, 0), (Stream.CASE, 1), (Stream.CASE, 2)]


def test_overlapping_batches_add_only_the_new_events(store: RecordStore) -> None:
    assert store.append(batch(positions=range(3))) == 3
    assert store.append(batch(positions=range(1, 6))) == 3
    assert store.append(batch(positions=[4, 5, 6])) == 1
    assert positions(store) == [(Stream.CASE, p) for p in range(7)]


def test_a_batch_retried_after_its_commit_changes_nothing(database_url: str) -> None:
    """The first attempt committed, then the worker died: the retry runs on a new engine."""
    upgrade(database_url)
    first = batch(positions=range(4), stage="conference_booked")
    with RecordStore(database_url) as attempt_1:
        assert attempt_1.append(first) == 4
    with RecordStore(database_url) as attempt_2:
        assert attempt_2.append(first) == 0
        assert [e.event for _, e in attempt_2.timeline("case-1")] == [f"case_{p}" for p in range(4)]
        stored = attempt_2.summary("case-1")
        assert stored is not None and stored.stage == "conference_booked"


def test_a_recorded_event_is_never_rewritten(store: RecordStore) -> None:
    store.append(batch(positions=[0]))
    changed = RecordBatch(
        case_id="case-1",
        stream=Stream.CASE,
        events=[RecordedEvent(position=0, at=T0, event="other", summary="changed")],
    )
    assert store.append(changed) == 0
    (_, event), *_ = store.timeline("case-1")
    assert event.event == "case_0"


def test_one_batch_is_one_transaction(store: RecordStore) -> None:
    """A batch whose summary cannot be written leaves none of its events behind."""
    bad = batch(positions=range(3))
    assert bad.summary is not None
    bad = bad.model_copy(update={"summary": bad.summary.model_copy(update={"case_id": "other"})})
    with pytest.raises(ValueError):
        store.append(bad)
    assert store.timeline("case-1") == []


def test_events_and_deciders_read_back_as_written(store: RecordStore) -> None:
    decided = RecordedEvent(
        position=0,
        at=datetime(2026, 12, 18, 9, 0, tzinfo=UTC),
        event="confirm_icpc",
        by=Decider(user="sw1", role="social_worker"),
        summary="ICPC confirmed",
        reason="threshold met",
        data={"due": "2027-01-12", "late_days": 0, "nested": {"a": [1, 2]}},
    )
    store.append(RecordBatch(case_id="case-1", stream=Stream.CASE, events=[decided]))
    assert store.timeline("case-1") == [(Stream.CASE, decided)]
    (_, event), *_ = store.timeline("case-1")
    assert event.at.tzinfo is not None and event.at == decided.at


# --- summaries --------------------------------------------------------------------------------


def test_an_older_batch_does_not_roll_the_summary_back(store: RecordStore) -> None:
    store.append(batch(positions=range(5), stage="conference_booked"))
    store.append(batch(positions=range(3), stage="awaiting_confirmation"))  # late retry
    stored = store.summary("case-1")
    assert stored is not None and stored.stage == "conference_booked"
    store.append(batch(positions=range(5, 7), stage="conference_held"))
    stored = store.summary("case-1")
    assert stored is not None and stored.stage == "conference_held"


def test_the_plan_outranks_the_case(store: RecordStore) -> None:
    store.append(batch(stream=Stream.PLAN, positions=[0], stage="core_group_due"))
    # A case batch arriving later, even with higher positions, does not replace the plan's.
    store.append(batch(stream=Stream.CASE, positions=range(20), stage="conference_held"))
    stored = store.summary("case-1")
    assert stored is not None
    assert (stored.stream, stored.stage) == (Stream.PLAN, "core_group_due")


def test_a_summary_without_events_applies_after_the_recorded_ones(store: RecordStore) -> None:
    store.append(batch(positions=range(3), stage="a"))
    store.append(
        RecordBatch(case_id="case-1", stream=Stream.CASE, summary=summary(stage="escalated"))
    )
    stored = store.summary("case-1")
    assert stored is not None and stored.stage == "escalated"
    assert store.summary("nobody") is None


# --- lists ------------------------------------------------------------------------------------


def _fill(store: RecordStore) -> None:
    """25 invented cases: deadlines spread out, some without one, some closed."""
    for n in range(25):
        deadline = None if n % 5 == 4 else T0 + timedelta(days=(n * 7) % 23)
        store.append(
            RecordBatch(
                case_id=f"case-{n:02d}",
                stream=Stream.CASE,
                events=events([0]),
                summary=summary(
                    f"case-{n:02d}",
                    case_reference=f"{'BCT' if n % 2 else 'KEN'}-{1000 + n}",
                    deadline=deadline,
                    is_open=n % 3 != 0,
                    stage="conference_booked" if n % 4 == 0 else "awaiting_confirmation",
                    procedure_id="kent" if n % 2 == 0 else "bct-management-note",
                    team="north" if n < 10 else "south",
                    outcome="plan" if n % 3 == 0 else None,
                    strategy_discussion=T0 + timedelta(days=n * 3),
                ),
            )
        )


def _expected_order(store: RecordStore, filters: CaseFilter) -> list[str]:
    everything = store.list_cases(filters, page=1, page_size=1000).rows
    far = datetime.max.replace(tzinfo=UTC)
    return [s.case_id for s in sorted(everything, key=lambda s: (s.deadline or far, s.case_id))]


def test_lists_page_through_every_case_soonest_deadline_first(store: RecordStore) -> None:
    _fill(store)
    seen: list[str] = []
    page_number = 1
    while True:
        page = store.list_cases(page=page_number, page_size=10)
        assert page.total == 25 and page.pages == 3
        seen += [s.case_id for s in page.rows]
        if page_number == page.pages:
            break
        page_number += 1
    assert len(seen) == len(set(seen)) == 25
    assert seen == _expected_order(store, CaseFilter())
    deadlines = [store.summary(case_id).deadline for case_id in seen]  # type: ignore[union-attr]
    known = [d for d in deadlines if d is not None]
    assert known == sorted(known) and deadlines[-5:] == [None] * 5  # no deadline: last
    assert store.list_cases(page=4, page_size=10).rows == []


def test_lists_filter_by_each_field(store: RecordStore) -> None:
    _fill(store)

    def ids(**fields: object) -> set[str]:
        filters = CaseFilter.model_validate(fields)
        page = store.list_cases(filters, page_size=1000)
        assert page.total == store.count(filters) == len(page.rows)
        return {s.case_id for s in page.rows}

    every = {f"case-{n:02d}" for n in range(25)}
    assert ids(is_open=True) == {f"case-{n:02d}" for n in range(25) if n % 3 != 0}
    assert ids(is_open=False) == every - ids(is_open=True)
    assert ids(stage="conference_booked") == {f"case-{n:02d}" for n in range(0, 25, 4)}
    assert ids(procedure_id="kent") == {f"case-{n:02d}" for n in range(0, 25, 2)}
    assert ids(team="north") == {f"case-{n:02d}" for n in range(10)}
    assert ids(outcome="plan") == ids(is_open=False)
    assert ids(reference="bct-") == {f"case-{n:02d}" for n in range(1, 25, 2)}  # any case
    assert ids(reference="BCT-1001", reference_match="exact") == {"case-01"}
    assert ids(reference="BCT-100", reference_match="exact") == set()
    assert ids(reference="BCT-10%") == set()  # wildcards are plain characters
    assert ids(strategy_month="2027-01") == {
        f"case-{n:02d}" for n in range(25) if (T0 + timedelta(days=n * 3)).month == 1
    }
    assert ids(is_open=True, team="south", procedure_id="kent") == {
        f"case-{n:02d}" for n in range(10, 25, 2) if n % 3 != 0
    }
    open_order = _expected_order(store, CaseFilter(is_open=True))
    assert [s.case_id for s in store.list_cases(CaseFilter(is_open=True), page_size=5).rows] == (
        open_order[:5]
    )


def test_the_month_is_the_month_in_england(store: RecordStore) -> None:
    # 23:30 UTC on 31 March 2026 is 00:30 on 1 April in London (summer time).
    late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    store.append(
        RecordBatch(case_id="c", stream=Stream.CASE, summary=summary("c", strategy_discussion=late))
    )
    assert store.count(CaseFilter(strategy_month="2026-04")) == 1
    assert store.count(CaseFilter(strategy_month="2026-03")) == 0


def test_find_by_reference(store: RecordStore) -> None:
    _fill(store)
    store.append(
        RecordBatch(
            case_id="case-again",
            stream=Stream.CASE,
            summary=summary(
                "case-again",
                case_reference="BCT-1001",
                strategy_discussion=T0 + timedelta(days=400),
            ),
        )
    )
    assert [s.case_id for s in store.find("BCT-1001")] == ["case-again", "case-01"]
    assert store.find(" BCT-1001 ")[0].case_id == "case-again"
    assert store.find("BCT-100") == []


# --- timelines --------------------------------------------------------------------------------


def test_the_timeline_holds_the_case_then_the_plan(store: RecordStore) -> None:
    store.append(batch(stream=Stream.PLAN, positions=[2, 0, 1]))
    store.append(batch(stream=Stream.CASE, positions=[3, 1]))
    store.append(batch(stream=Stream.CASE, positions=[0, 2]))
    store.append(batch("case-2", positions=range(9)))
    assert positions(store) == [
        *[(Stream.CASE, p) for p in range(4)],
        *[(Stream.PLAN, p) for p in range(3)],
    ]
    assert store.timeline("no-such-case") == []


def test_plans_ended_are_read_by_the_childs_or_the_familys_reference(store: RecordStore) -> None:
    """004's repeat plan is derived from the record: the plans it holds as ended."""
    ended = T0 + timedelta(days=40)
    store.append(batch("child", stream=Stream.PLAN, is_open=False, closed_at=ended))
    store.append(batch("sibling", stream=Stream.PLAN, family_reference="FAM-2", closed_at=T0))
    store.append(batch("open-plan", stream=Stream.PLAN, family_reference="FAM-2"))
    store.append(batch("no-plan", stream=Stream.CASE, family_reference="FAM-2", closed_at=T0))
    assert store.plans_ended("REF-child", "FAM-9") == [ended]
    assert store.plans_ended("REF-other", "FAM-2") == [T0]
    assert store.plans_ended("REF-other", "FAM-9") == []
