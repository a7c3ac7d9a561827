"""``icpc plan`` and ``icpc procedures``, run through the command's own entry point."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from starters.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "planner" / "conference-anchored.toml"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def by_id(schedule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in schedule["milestones"]}


def test_plan_json_across_christmas_2026(capsys: pytest.CaptureFixture[str]) -> None:
    schedule = run_json(
        capsys,
        "plan",
        "--procedure",
        "bct-management-note",
        "--strategy-date",
        "2026-12-17",
        "--json",
    )
    assert schedule["procedure"] == "bct-management-note"
    assert datetime.fromisoformat(schedule["strategy_discussion"]).utcoffset() is not None
    assert schedule["strategy_discussion"].startswith("2026-12-17T10:00:00")
    assert schedule["milestones"]
    for m in schedule["milestones"]:
        for key in ("id", "title", "due", "working_day", "responsible"):
            assert key in m, (m.get("id"), key)
        if m["due"] is not None:
            due = datetime.fromisoformat(m["due"])
            assert due.utcoffset() is not None, m["due"]
    milestones = by_id(schedule)
    # From Thu 17 Dec 2026 (day 0): 1 Fri 18, 2 Mon 21, 3 Tue 22, 4 Wed 23, 5 Thu 24,
    # [Fri 25 Christmas, Sat 26 Boxing Day, Sun 27, Mon 28 Boxing Day substitute],
    # 6 Tue 29, 7 Wed 30, 8 Thu 31, [Fri 1 Jan New Year, Sat 2, Sun 3], 9 Mon 4, 10 Tue 5,
    # 11 Wed 6, 12 Thu 7, 13 Fri 8, [Sat 9, Sun 10], 14 Mon 11, 15 Tue 12 Jan 2027.
    deadline = milestones["icpc_deadline"]
    assert deadline["working_day"] == 15
    assert datetime.fromisoformat(deadline["due"]).date().isoformat() == "2027-01-12"
    # GMT in January: the offset is zero (JSON writes it as "Z" or "+00:00").
    assert datetime.fromisoformat(deadline["due"]).utcoffset() == timedelta(0)
    assert datetime.fromisoformat(deadline["due"]).hour == 17
    confirm = milestones["confirm_or_withdraw"]
    assert confirm["working_day"] == 5
    assert confirm["due"].startswith("2026-12-24T")
    convening = milestones["convening_sheet"]
    assert convening["working_day"] == 7
    assert convening["due"].startswith("2026-12-30T")


def test_plan_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["plan", "--procedure", "bct-management-note", "--strategy-date", "2026-12-17"]) == 0
    )
    out = capsys.readouterr().out
    assert "day 0 = 2026-12-17" in out
    lines = out.splitlines()
    header = next(line for line in lines if "milestone" in line)
    assert "due" in header and "responsible" in header
    deadline = next(line for line in lines if line.strip().startswith("15 "))
    assert "2027-01-12T" in deadline
    assert any(line.strip().startswith("5 ") and "2026-12-24T" in line for line in lines)
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_plan_waits_on_the_conference_until_given(capsys: pytest.CaptureFixture[str]) -> None:
    schedule = run_json(
        capsys, "plan", "--procedure-file", str(FIXTURE), "--strategy-date", "2026-03-16", "--json"
    )
    milestones = by_id(schedule)
    assert schedule["procedure"] == "fixture-conference-anchored"
    for mid in ("report_shared", "final_reminder"):
        assert milestones[mid]["due"] is None
        assert milestones[mid]["waiting_on"] == "conference_date"
    confirm = datetime.fromisoformat(milestones["confirm"]["due"])
    assert confirm.isoformat() == "2026-03-18T17:00:00+00:00"

    assert main(["plan", "--procedure-file", str(FIXTURE), "--strategy-date", "2026-03-16"]) == 0
    assert "waiting on conference_date" in capsys.readouterr().out


def test_plan_with_a_conference_date(capsys: pytest.CaptureFixture[str]) -> None:
    # Strategy Mon 16 Mar 2026; conference Mon 30 Mar 2026 at 10:00 BST (the clocks went
    # forward on Sun 29 Mar), which is day 10 (17-20, 23-27, 30).
    schedule = run_json(
        capsys,
        "plan",
        "--procedure-file",
        str(FIXTURE),
        "--strategy-date",
        "2026-03-16",
        "--conference-date",
        "2026-03-30",
        "--conference-time",
        "10:00",
        "--json",
    )
    milestones = by_id(schedule)
    # Two working days before Mon 30 Mar: -1 Fri 27, -2 Thu 26 Mar, at 16:00 GMT; day 8.
    shared = milestones["report_shared"]
    assert shared["waiting_on"] is None
    assert datetime.fromisoformat(shared["due"]).isoformat() == "2026-03-26T16:00:00+00:00"
    assert shared["working_day"] == 8
    # 72 hours before 10:00 BST Mon 30 Mar, in working time: -1 Fri 27, -2 Thu 26, -3 Wed 25
    # Mar at 10:00 GMT on the wall clock; day 7.
    final = milestones["final_reminder"]
    assert datetime.fromisoformat(final["due"]).isoformat() == "2026-03-25T10:00:00+00:00"
    assert final["working_day"] == 7
    # Day 15: 30, 31 Mar, 1, 2 Apr (10-13), [Good Friday 3, weekend, Easter Monday 6],
    # 14 Tue 7, 15 Wed 8 Apr, in BST.
    deadline = milestones["icpc_deadline"]
    assert datetime.fromisoformat(deadline["due"]).isoformat() == "2026-04-08T17:00:00+01:00"


def test_a_missing_procedure_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.toml"
    assert main(["plan", "--procedure-file", str(missing), "--strategy-date", "2026-12-17"]) == 2
    err = capsys.readouterr().err
    assert "no such procedure file" in err
    assert "Traceback" not in err


def test_procedures_json(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "procedures", "--json")
    assert isinstance(rows, list) and rows
    for row in rows:
        assert {"id", "title", "source_document"} <= set(row)
        assert row["id"] and row["title"] and row["source_document"]
    ids = [row["id"] for row in rows]
    assert "bct-management-note" in ids
    assert len(ids) == len(set(ids))
