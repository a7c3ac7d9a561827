"""The planner: a procedure plus the anchors known so far give due instants, to the minute.

The procedures are built here, so these tests do not move when the installed files do. The
dates were counted by hand; the counting is in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from domain.calendar import LONDON, london_instant
from domain.planner import PlanningError, plan
from domain.procedure import Procedure, parse_procedure
from domain.vocabulary import Anchor


def milestone(id: str, anchor: str = "strategy_discussion", **fields: Any) -> dict[str, Any]:
    return {
        "id": id,
        "title": id.replace("_", " ").capitalize(),
        "anchor": anchor,
        "responsible": "social_worker",
        "remind": ["social_worker"],
        "satisfied_by": ["confirm_icpc"],
        **fields,
    }


def procedure(*milestones: dict[str, Any], **fields: Any) -> Procedure:
    data: dict[str, Any] = {
        "id": "test-planner",
        "title": "Planner test procedure",
        "authority": "Invented Borough Council",
        "source_document": "tests/test_planner.py",
        # Not the model's defaults (09:00 and 17:00), so the tests see they are used.
        "start_of_day": "08:30",
        "end_of_day": "17:30",
        "roles": [
            {"id": "social_worker", "title": "Social worker"},
            {"id": "business_support", "title": "Business support"},
        ],
        "decisions": {
            "confirm_icpc": ["social_worker"],
            "hold_conference": ["business_support"],
        },
        "milestones": [
            milestone(
                "icpc_deadline",
                working_days=15,
                statutory=True,
                responsible="business_support",
                remind_working_days_before=3,
                satisfied_by=["hold_conference"],
            ),
            *milestones,
        ],
        **fields,
    }
    return parse_procedure(data, "test")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return london_instant(date(year, month, day), time(hour, minute))


# Thu 17 Dec 2026, 10:00 GMT. Counting (England): 0 Thu 17, 1 Fri 18, 2 Mon 21, 3 Tue 22,
# 4 Wed 23, 5 Thu 24, [25 Christmas, 26-27 weekend, 28 Boxing Day substitute], 6 Tue 29,
# 7 Wed 30, 8 Thu 31, [1 Jan, 2-3 weekend], 9 Mon 4, 10 Tue 5, 11 Wed 6, 12 Thu 7,
# 13 Fri 8, 14 Mon 11, 15 Tue 12 Jan 2027.
CHRISTMAS_STRATEGY = at(2026, 12, 17, 10)

# Mon 16 Mar 2026, 10:00 GMT; clocks go forward on Sun 29 Mar; Good Friday 3 Apr and Easter
# Monday 6 Apr 2026. Counting: 0 Mon 16, 1-4 Tue 17-Fri 20, 5-9 Mon 23-Fri 27,
# 10-13 Mon 30 Mar-Thu 2 Apr, [Fri 3, weekend, Mon 6], 14 Tue 7, 15 Wed 8 Apr.
SPRING_STRATEGY = at(2026, 3, 16, 10)


def test_working_day_offsets_fall_due_at_the_end_of_day() -> None:
    proc = procedure(milestone("confirm", working_days=5))
    schedule = plan(proc, CHRISTMAS_STRATEGY)
    confirm = schedule.get("confirm")
    assert confirm.due is not None
    assert confirm.due.isoformat() == "2026-12-24T17:30:00+00:00"
    assert confirm.working_day == 5
    assert confirm.waiting_on is None
    deadline = schedule.get("icpc_deadline")
    assert deadline.due is not None
    assert deadline.due.isoformat() == "2027-01-12T17:30:00+00:00"
    assert deadline.working_day == 15
    assert deadline.statutory
    assert schedule.day_zero == "2026-12-17"
    assert schedule.procedure == "test-planner"


def test_due_instants_carry_the_summer_time_offset() -> None:
    schedule = plan(procedure(), SPRING_STRATEGY)
    deadline = schedule.get("icpc_deadline")
    assert deadline.due is not None
    assert deadline.due.isoformat() == "2026-04-08T17:30:00+01:00"
    assert deadline.due.astimezone(UTC) == datetime(2026, 4, 8, 16, 30, tzinfo=UTC)
    assert deadline.working_day == 15


def test_a_milestone_time_is_kept_in_london_wall_clock() -> None:
    # Day 3 from Thu 17 Dec 2026 is Tue 22 Dec (GMT); day 12 from Mon 16 Mar 2026 is
    # Wed 1 Apr (BST): both due at 16:00 on the wall clock.
    proc = procedure(
        milestone("cut_off", working_days=3, time="16:00"),
        milestone("late_cut_off", working_days=12, time="16:00"),
    )
    winter = plan(proc, CHRISTMAS_STRATEGY).get("cut_off").due
    summer = plan(proc, SPRING_STRATEGY).get("late_cut_off").due
    assert winter is not None and summer is not None
    assert winter.isoformat() == "2026-12-22T16:00:00+00:00"
    assert summer.isoformat() == "2026-04-01T16:00:00+01:00"
    assert summer.astimezone(UTC).hour == 15


def test_a_strategy_discussion_given_in_utc_counts_from_its_london_day() -> None:
    # 23:30 UTC on Tue 30 Jun 2026 is 00:30 BST on Wed 1 Jul: day 0 is Wed 1 Jul, and day 5
    # is Wed 8 Jul (Thu 2, Fri 3, Mon 6, Tue 7, Wed 8).
    proc = procedure(milestone("confirm", working_days=5))
    schedule = plan(proc, datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    assert schedule.day_zero == "2026-07-01"
    due = schedule.get("confirm").due
    assert due is not None and due.isoformat() == "2026-07-08T17:30:00+01:00"


def test_a_strategy_discussion_on_a_saturday() -> None:
    # Sat 19 Dec 2026 is day 0 itself: 1 Mon 21, 2 Tue 22, 3 Wed 23, 4 Thu 24, [25-28 off],
    # 5 Tue 29 Dec.
    proc = procedure(milestone("confirm", working_days=5))
    schedule = plan(proc, at(2026, 12, 19, 11))
    assert schedule.day_zero == "2026-12-19"
    confirm = schedule.get("confirm")
    assert confirm.due is not None and confirm.due.date() == date(2026, 12, 29)
    assert confirm.working_day == 5


@pytest.mark.parametrize(
    ("strategy", "day_15"),
    [
        # Issue 11's examples. Sat 14 Nov 2026: 1 Mon 16 ... 5 Fri 20, 10 Fri 27, 11 Mon 30,
        # 12 Tue 1, 13 Wed 2, 14 Thu 3, 15 Fri 4 Dec 2026 (the old rule gave Mon 7 Dec).
        (date(2026, 11, 14), date(2026, 12, 4)),
        # Good Friday 26 Mar 2027: [weekend, Easter Monday 29], 1 Tue 30, 2 Wed 31, 3 Thu 1,
        # 4 Fri 2, 5 Mon 5 ... 9 Fri 9, 10 Mon 12 ... 14 Fri 16, 15 Mon 19 Apr 2027 (old: Tue 20).
        (date(2027, 3, 26), date(2027, 4, 19)),
    ],
)
def test_statutory_day_15_counts_from_a_day_off_itself(strategy: date, day_15: date) -> None:
    schedule = plan(procedure(), at(strategy.year, strategy.month, strategy.day, 11))
    assert schedule.day_zero == strategy.isoformat()
    deadline = schedule.get("icpc_deadline")
    assert deadline.due is not None and deadline.due.date() == day_15
    assert deadline.working_day == 15


@pytest.mark.parametrize(
    "strategy",
    [
        datetime(9999, 12, 20, 10, tzinfo=LONDON),
        datetime(1900, 1, 1, 10, tzinfo=LONDON),
        datetime(1999, 12, 31, 10, tzinfo=LONDON),
        datetime(2100, 1, 1, 10, tzinfo=LONDON),
    ],
)
def test_a_strategy_discussion_out_of_range_cannot_be_planned(strategy: datetime) -> None:
    with pytest.raises(PlanningError, match=r"cannot be planned: only dates from 2000-01-01"):
        plan(procedure(), strategy)


def test_the_last_plannable_day_plans_without_overflow() -> None:
    schedule = plan(procedure(), datetime(2099, 12, 31, 10, tzinfo=LONDON))
    assert schedule.get("icpc_deadline").due is not None


def test_milestones_wait_on_an_unknown_anchor_until_it_is_given() -> None:
    proc = procedure(
        milestone("reports_shared", anchor="conference_date", working_days=-3),
        milestone("invitations", anchor="convening_sheet_received", working_days=2),
    )
    schedule = plan(proc, SPRING_STRATEGY)
    for mid, anchor in (
        ("reports_shared", Anchor.CONFERENCE_DATE),
        ("invitations", Anchor.CONVENING_SHEET_RECEIVED),
    ):
        waiting = schedule.get(mid)
        assert waiting.waiting_on == anchor
        assert waiting.due is None
        assert waiting.working_day is None
        assert waiting.remind_at is None
    # The strategy-anchored deadline does not wait.
    assert schedule.get("icpc_deadline").waiting_on is None

    # Conference Tue 7 Apr 2026 10:00 BST: day -3 is Tue 31 Mar (-1 Thu 2 Apr, [Good Friday,
    # weekend, Easter Monday], -2 Wed 1 Apr, -3 Tue 31 Mar), day 11 of the case.
    schedule = plan(proc, SPRING_STRATEGY, {Anchor.CONFERENCE_DATE: at(2026, 4, 7, 10)})
    shared = schedule.get("reports_shared")
    assert shared.waiting_on is None
    assert shared.due is not None
    assert shared.due.isoformat() == "2026-03-31T17:30:00+01:00"
    assert shared.working_day == 11
    assert schedule.get("invitations").waiting_on == Anchor.CONVENING_SHEET_RECEIVED


def test_hours_count_in_working_time_at_the_same_time_of_day() -> None:
    # Whole 24 hours are working days at the same London wall-clock time. Conference Mon 30
    # Mar 2026, 10:00 BST (after the clocks went forward on Sun 29): 24 hours before is Fri 27
    # Mar 10:00 GMT, not Sunday; 72 hours before is Fri 27 (1), Thu 26 (2), Wed 25 (3) at
    # 10:00 GMT, working day 7.
    proc = procedure(
        milestone("reports_shared", anchor="conference_date", hours=-72),
        milestone("day_before", anchor="conference_date", hours=-24),
    )
    schedule = plan(proc, SPRING_STRATEGY, {Anchor.CONFERENCE_DATE: at(2026, 3, 30, 10)})
    shared = schedule.get("reports_shared")
    assert shared.due is not None and shared.due.isoformat() == "2026-03-25T10:00:00+00:00"
    assert shared.working_day == 7
    day_before = schedule.get("day_before").due
    assert day_before is not None and day_before.isoformat() == "2026-03-27T10:00:00+00:00"
    # October, the clocks going back on Sun 25 Oct 2026: 72 hours before Mon 26 Oct 10:00 GMT
    # is Fri 23 (1), Thu 22 (2), Wed 21 Oct (3) at 10:00 BST.
    proc = procedure(milestone("reports_shared", anchor="conference_date", hours=-72))
    schedule = plan(proc, at(2026, 10, 12, 10), {Anchor.CONFERENCE_DATE: at(2026, 10, 26, 10)})
    due = schedule.get("reports_shared").due
    assert due is not None and due.isoformat() == "2026-10-21T10:00:00+01:00"


@pytest.mark.parametrize(
    ("sheet", "expected"),
    [
        # Friday 20 Mar 2026 14:00: 48 hours is Mon 23 (1), Tue 24 (2) at 14:00, not Sunday.
        (at(2026, 3, 20, 14), "2026-03-24T14:00:00+00:00"),
        # Thursday 2 Apr 2026 15:00 BST: Good Friday, the weekend and Easter Monday are off,
        # so Tue 7 (1), Wed 8 Apr (2) at 15:00.
        (at(2026, 4, 2, 15), "2026-04-08T15:00:00+01:00"),
        # Saturday 21 Mar 11:00 (a day off): Mon 23 (1), Tue 24 (2) at 11:00.
        (at(2026, 3, 21, 11), "2026-03-24T11:00:00+00:00"),
    ],
    ids=["friday-to-tuesday", "easter", "from-a-saturday"],
)
def test_hours_after_skip_weekends_and_bank_holidays(sheet: datetime, expected: str) -> None:
    proc = procedure(milestone("invitations", anchor="convening_sheet_received", hours=48))
    schedule = plan(proc, SPRING_STRATEGY, {Anchor.CONVENING_SHEET_RECEIVED: sheet})
    due = schedule.get("invitations").due
    assert due is not None and due.isoformat() == expected


def test_leftover_hours_crossing_midnight_go_on_to_the_next_working_day() -> None:
    # An hour after Friday 20 Mar 2026 at 23:30 is Monday 23 at 00:30, not Saturday.
    proc = procedure(milestone("quick", anchor="convening_sheet_received", hours=1))
    schedule = plan(
        proc, SPRING_STRATEGY, {Anchor.CONVENING_SHEET_RECEIVED: at(2026, 3, 20, 23, 30)}
    )
    due = schedule.get("quick").due
    assert due is not None and due.isoformat() == "2026-03-23T00:30:00+00:00"
    # 24 hours before a conference held on a day off (Sunday 29 Mar, 10:00 BST): the working
    # day before it, Friday 27, at 10:00 GMT.
    proc = procedure(milestone("day_before", anchor="conference_date", hours=-24))
    schedule = plan(proc, SPRING_STRATEGY, {Anchor.CONFERENCE_DATE: at(2026, 3, 29, 10)})
    due = schedule.get("day_before").due
    assert due is not None and due.isoformat() == "2026-03-27T10:00:00+00:00"


def test_calendar_days_offset() -> None:
    # Booked on Fri 27 Mar 2026 at 15:00 GMT; 2 calendar days later is Sun 29 Mar (BST by
    # then), due at the end of the day. As a working day it counts as Fri 27 Mar, day 9.
    proc = procedure(milestone("checks", anchor="conference_booked", days=2))
    schedule = plan(proc, SPRING_STRATEGY, {Anchor.CONFERENCE_BOOKED: at(2026, 3, 27, 15)})
    checks = schedule.get("checks")
    assert checks.due is not None
    assert checks.due.isoformat() == "2026-03-29T17:30:00+01:00"
    assert checks.working_day == 9
    # Reminded one working day before Sunday: day 0 of a Sunday is Mon 30, so Fri 27 Mar.
    assert checks.remind_at is not None
    assert checks.remind_at.isoformat() == "2026-03-27T08:30:00+00:00"


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        # 31 Dec 2026 + 3 months = Wed 31 Mar 2027, a working day, in BST.
        (at(2026, 12, 31, 11), "2027-03-31T17:30:00+01:00"),
        # 30 Nov 2026 + 3 months = 28 Feb 2027 (clipped), a Sunday: Fri 26 Feb.
        (at(2026, 11, 30, 11), "2027-02-26T17:30:00+00:00"),
        # 26 Dec 2026 + 3 months = Fri 26 Mar 2027, Good Friday: Thu 25 Mar.
        (at(2026, 12, 26, 11), "2027-03-25T17:30:00+00:00"),
    ],
)
def test_months_offset_is_the_last_working_day_on_or_before(held: datetime, expected: str) -> None:
    proc = procedure(
        milestone("first_review", anchor="conference_held", months=3, phase="review"),
    )
    schedule = plan(proc, at(2026, 11, 2, 10), {Anchor.CONFERENCE_HELD: held})
    review = schedule.get("first_review")
    assert review.due is not None
    assert review.due.isoformat() == expected
    # Only milestones before the ICPC get a working-day number.
    assert review.working_day is None


def test_reminders_are_working_days_before_at_the_start_of_day() -> None:
    proc = procedure(milestone("confirm", working_days=5, remind_working_days_before=2))
    schedule = plan(proc, CHRISTMAS_STRATEGY)
    # Day 5 is Thu 24 Dec; two working days before is Tue 22 Dec, at 08:30.
    remind = schedule.get("confirm").remind_at
    assert remind is not None and remind.isoformat() == "2026-12-22T08:30:00+00:00"
    # The deadline, Tue 12 Jan 2027, is reminded 3 working days before: Thu 7 Jan.
    remind = schedule.get("icpc_deadline").remind_at
    assert remind is not None and remind.isoformat() == "2027-01-07T08:30:00+00:00"


def test_reminder_across_easter_and_the_clock_change() -> None:
    # Deadline Wed 8 Apr 2026; 3 working days before: Tue 7 (1), [Mon 6, weekend, Fri 3],
    # Thu 2 (2), Wed 1 Apr (3), at 08:30 BST.
    remind = plan(procedure(), SPRING_STRATEGY).get("icpc_deadline").remind_at
    assert remind is not None and remind.isoformat() == "2026-04-01T08:30:00+01:00"


def test_reminder_on_the_day_itself_is_kept_when_before_the_due_instant() -> None:
    proc = procedure(milestone("confirm", working_days=5, remind_working_days_before=0))
    remind = plan(proc, CHRISTMAS_STRATEGY).get("confirm").remind_at
    assert remind is not None and remind.isoformat() == "2026-12-24T08:30:00+00:00"


def test_reminder_not_before_the_due_instant_is_dropped() -> None:
    # Due an hour after a 07:00 strategy discussion, at 08:00; a same-day reminder at the
    # 08:30 start of day would come after it, so there is none.
    proc = procedure(milestone("quick", hours=1, remind_working_days_before=0))
    early = plan(proc, at(2026, 12, 17, 7)).get("quick")
    assert early.due is not None and early.due.isoformat() == "2026-12-17T08:00:00+00:00"
    assert early.remind_at is None
    # At exactly the start of day it is not before the due instant either.
    exactly = plan(proc, at(2026, 12, 17, 7, 30)).get("quick")
    assert exactly.due == at(2026, 12, 17, 8, 30)
    assert exactly.remind_at is None
    # Due later in the day, the 08:30 reminder stands.
    later = plan(proc, CHRISTMAS_STRATEGY).get("quick")
    assert later.remind_at == at(2026, 12, 17, 8, 30)


def test_no_reminder_without_anyone_to_remind() -> None:
    proc = procedure(milestone("quiet", working_days=2, remind=[]))
    assert plan(proc, CHRISTMAS_STRATEGY).get("quiet").remind_at is None


def test_closure_days_and_nation_come_from_the_procedure() -> None:
    # Closed Wed 23 and Thu 24 Dec 2026: day 5 from Thu 17 Dec moves to Wed 30 Dec
    # (1 Fri 18, 2 Mon 21, 3 Tue 22, 4 Tue 29, 5 Wed 30).
    proc = procedure(
        milestone("confirm", working_days=5),
        closure_days=[date(2026, 12, 23), date(2026, 12, 24)],
    )
    due = plan(proc, CHRISTMAS_STRATEGY).get("confirm").due
    assert due is not None and due.date() == date(2026, 12, 30)
    # In Scotland 4 Jan 2027 is a holiday, so the deadline is Wed 13 Jan.
    scottish = procedure(nation="scotland")
    due = plan(scottish, CHRISTMAS_STRATEGY).get("icpc_deadline").due
    assert due is not None and due.date() == date(2027, 1, 13)


def test_a_naive_strategy_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        plan(procedure(), datetime(2026, 12, 17, 10, 0))


def test_a_naive_anchor_is_refused() -> None:
    # Read in the host's own zone, a naive conference time would plan differently on two
    # machines; it is refused with the anchor named.
    proc = procedure(milestone("reports_shared", anchor="conference_date", working_days=-3))
    with pytest.raises(ValueError, match="conference_date"):
        plan(proc, CHRISTMAS_STRATEGY, {Anchor.CONFERENCE_DATE: datetime(2027, 1, 11, 10, 0)})


def test_a_milestone_time_in_the_skipped_hour_is_due_after_the_change() -> None:
    # Day 9 from Mon 16 Mar 2026 is Fri 27 Mar; 2 calendar days on is Sun 29 Mar, the day the
    # clocks go forward at 01:00 GMT, so a 01:30 cut-off that day is 02:30 BST (01:30 UTC).
    proc = procedure(milestone("night", anchor="conference_booked", days=2, time="01:30"))
    schedule = plan(proc, SPRING_STRATEGY, {Anchor.CONFERENCE_BOOKED: at(2026, 3, 27, 15)})
    due = schedule.get("night").due
    assert due is not None
    assert due.isoformat() == "2026-03-29T02:30:00+01:00"
    assert due.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_every_due_instant_is_in_london() -> None:
    proc = procedure(
        milestone("confirm", working_days=5),
        milestone("reports_shared", anchor="conference_date", hours=-72),
    )
    schedule = plan(
        proc,
        datetime(2026, 12, 17, 10, tzinfo=UTC),
        {Anchor.CONFERENCE_DATE: datetime(2027, 1, 11, 10, tzinfo=UTC)},
    )
    for m in schedule.milestones:
        assert m.due is not None
        assert m.due.tzinfo is not None
        assert m.due.utcoffset() == m.due.astimezone(LONDON).utcoffset()
        assert m.due.astimezone(LONDON).replace(tzinfo=None) == m.due.replace(tzinfo=None)
