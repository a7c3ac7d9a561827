"""Start input refused by ``icpc start`` and ``icpc import`` alike, before any server is asked.

Issue 11, section 1: a start that would break or mislead a case is refused with one plain line
(exit 2 for ``icpc start``; each bad row named with its line for ``icpc import``). The service
refuses it (``POST /api/v1/cases``, ``/cases/import``) before it asks Temporal anything, and the
command says the service's reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from domain.calendar import LONDON
from tests.case_helpers import icpc, person_token
from tests.service_helpers import RunningService

START = ["start", "--procedure", "bct-management-note", "--case-reference", "REF-1",
         "--family-reference", "FAM-1"]  # fmt: skip


@pytest.fixture(autouse=True)
def as_operator(service: RunningService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service, and a service-wide operator of the conference service's token."""
    token = person_token("refusals-bss", "cp_conference_service", service_wide=True)
    monkeypatch.setenv("ICPC_PERSON_TOKEN", token)


def today() -> datetime:
    return datetime.now(LONDON)


async def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = await icpc(capsys, *argv)
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1, err  # one line
    assert err.startswith("icpc start: ")
    return err.strip()


@pytest.mark.parametrize(
    ("strategy_date", "reason"),
    [
        ("9999-12-20", "a strategy discussion on 9999-12-20 cannot be planned"),
        ("1900-01-01", "a strategy discussion on 1900-01-01 cannot be planned"),
        ("2019-01-07", "is more than 90 days ago"),
    ],
)
async def test_dates_out_of_range_or_too_old_are_refused(
    capsys: pytest.CaptureFixture[str], strategy_date: str, reason: str
) -> None:
    assert reason in await refused(capsys, *START, "--strategy-date", strategy_date)


async def test_a_strategy_discussion_in_the_future_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 000 action 1: "Strategy Meetings should not be recorded as open before they happen".
    ahead = (today() + timedelta(days=182)).date().isoformat()
    err = await refused(capsys, *START, "--strategy-date", ahead)
    assert "is later than now" in err and "recorded once it has happened" in err


async def test_about_19_months_ago_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    old = (today() - timedelta(days=580)).date().isoformat()
    assert "is more than 90 days ago" in await refused(capsys, *START, "--strategy-date", old)


async def test_section_47_no_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    recent = (today() - timedelta(days=1)).date().isoformat()
    err = await refused(capsys, *START, "--strategy-date", recent, "--section-47", "no")
    assert "an ICPC follows a section 47 enquiry" in err


async def test_the_import_names_each_refused_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ahead = (today() + timedelta(days=30)).date().isoformat()
    recent = (today() - timedelta(days=1)).date().isoformat()
    csv_file = tmp_path / "cases.csv"
    csv_file.write_text(
        "procedure,case_reference,family_reference,strategy_date,section_47\n"
        "bct-management-note,IMP-1,FAM-1,9999-12-20,yes\n"
        "bct-management-note,IMP-2,FAM-1,1900-01-01,yes\n"
        f"bct-management-note,IMP-3,FAM-1,{ahead},yes\n"
        "bct-management-note,IMP-4,FAM-1,2019-01-07,yes\n"
        f"bct-management-note,IMP-5,FAM-1,{recent},no\n",
        encoding="utf-8",
    )
    code, out, err = await icpc(capsys, "import", str(csv_file))
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"{csv_file}:2: a strategy discussion on 9999-12-20 cannot be")
    assert lines[1].startswith(f"{csv_file}:3: a strategy discussion on 1900-01-01 cannot be")
    assert lines[2].startswith(f"{csv_file}:4: the strategy discussion (")
    assert "is later than now" in lines[2]
    assert lines[3].startswith(f"{csv_file}:5: the strategy discussion (")
    assert "more than 90 days ago" in lines[3]
    assert lines[4].startswith(f"{csv_file}:6: an ICPC follows a section 47 enquiry")
    assert out.strip() == "0 started, 0 already existed, 5 bad row(s) of 5"
