"""Bad procedure files are refused with a ProcedureError naming the file and the field.

Every file here is invented: a small valid procedure for an imaginary authority, changed in one
place per test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from domain.procedure import ProcedureError
from procedures import load_all, load_procedure
from starters.cli import main

VALID = """\
id = "exampleshire-test"
title = "Exampleshire (invented) — test procedure"
authority = "Exampleshire (invented)"
source_document = "tests"

[[roles]]
id = "social_worker"
title = "Social worker"

[[roles]]
id = "business_support"
title = "Business support"

[decisions]
confirm_icpc = ["social_worker"]
withdraw_icpc = ["social_worker"]
receive_convening_sheet = ["business_support"]
book_conference = ["business_support"]
hold_conference = ["business_support"]

[[milestones]]
id = "convening_sheet"
title = "Convening sheet received"
anchor = "strategy_discussion"
working_days = 6
responsible = "social_worker"
satisfied_by = ["receive_convening_sheet"]

[[milestones]]
id = "icpc_deadline"
title = "ICPC held within 15 working days"
anchor = "strategy_discussion"
working_days = 15
statutory = true
responsible = "business_support"
satisfied_by = ["hold_conference"]

[invitation_notice]
working_days = 4
enforcement = "flag"
"""

STRATEGY_DATE = "2026-03-02"


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def changed(old: str, new: str, count: int = 1) -> str:
    assert VALID.count(old) >= count, old
    return VALID.replace(old, new, count)


def refusal(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ProcedureError) as caught:
        load_procedure(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "Traceback" not in message
    return message


def test_the_valid_file_loads(tmp_path: Path) -> None:
    procedure = load_procedure(write(tmp_path, VALID, "good.toml"))
    assert procedure.id == "exampleshire-test"
    assert procedure.milestone("icpc_deadline").working_days == 15


def test_an_unknown_anchor_is_refused(tmp_path: Path) -> None:
    text = changed('anchor = "strategy_discussion"', 'anchor = "sheet_arrived"')
    message = refusal(tmp_path, text)
    # The field is named by the milestone's id, not its position in the file.
    assert re.search(r"^  milestones\.convening_sheet\.anchor: Input should be", message, re.M)
    assert "'strategy_discussion'" in message  # the anchors it may use


def test_a_negative_notice_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, changed("working_days = 4", "working_days = -4"))
    assert re.search(
        r"^  invitation_notice\.working_days: Input should be greater than or equal to 0$",
        message,
        re.M,
    )


def test_a_role_that_is_not_declared_is_refused(tmp_path: Path) -> None:
    text = changed('responsible = "social_worker"', 'responsible = "duty_officer"')
    message = refusal(tmp_path, text)
    assert (
        "  milestones.convening_sheet.responsible: role 'duty_officer' is not declared in"
        " [[roles]] (declared: business_support, social_worker)"
    ) in message


def test_an_undeclared_role_in_decisions_is_refused(tmp_path: Path) -> None:
    text = changed('book_conference = ["business_support"]', 'book_conference = ["clerk"]')
    message = refusal(tmp_path, text)
    assert "decisions.book_conference: role 'clerk' is not declared in [[roles]]" in message


def test_a_duplicate_milestone_id_is_refused(tmp_path: Path) -> None:
    text = changed('id = "convening_sheet"', 'id = "icpc_deadline"')
    message = refusal(tmp_path, text)
    assert "  milestones: id 'icpc_deadline' is used more than once" in message


def test_a_milestone_no_decision_can_satisfy_is_refused(tmp_path: Path) -> None:
    # share_report is a real decision, but this procedure gives nobody the right to take it.
    text = changed('satisfied_by = ["receive_convening_sheet"]', 'satisfied_by = ["share_report"]')
    message = refusal(tmp_path, text)
    assert (
        "  milestones.convening_sheet.satisfied_by: no role may take share_report,"
        " so nothing can ever satisfy it"
    ) in message


def test_a_satisfier_that_is_no_decision_or_event_is_refused(tmp_path: Path) -> None:
    text = changed('satisfied_by = ["receive_convening_sheet"]', 'satisfied_by = ["phone_call"]')
    message = refusal(tmp_path, text)
    assert re.search(
        r"^  milestones\.convening_sheet: .*phone_call, which is not a decision or event",
        message,
        re.M,
    )


def test_a_missing_icpc_deadline_is_refused(tmp_path: Path) -> None:
    text = changed('id = "icpc_deadline"', 'id = "conference_held"')
    message = refusal(tmp_path, text)
    assert "  milestones: a milestone with id 'icpc_deadline' is required" in message


def test_an_icpc_deadline_that_is_not_15_working_days_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, changed("working_days = 15", "working_days = 16"))
    assert (
        "  milestones.icpc_deadline: must be 15 working days after the strategy_discussion"
        " (the statutory limit)"
    ) in message


def test_two_offsets_on_one_milestone_are_refused(tmp_path: Path) -> None:
    text = changed("working_days = 6\n", "working_days = 6\nhours = 48\n")
    message = refusal(tmp_path, text)
    assert re.search(
        r"^  milestones\.convening_sheet: .*give exactly one of working_days, days, months or"
        r" hours \(got working_days, hours\)",
        message,
        re.M,
    )


def test_an_unknown_decision_kind_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path, changed("[decisions]\n", '[decisions]\nphone_parents = ["social_worker"]\n')
    )
    assert re.search(r"^  decisions\.phone_parents\.\[key\]: Input should be", message, re.M)


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path, changed("[invitation_notice]\n", "[invitation_notice]\nweeks = 1\n")
    )
    assert re.search(r"^  invitation_notice\.weeks: Extra inputs are not permitted$", message, re.M)


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    text = VALID.replace('title = "Convening sheet received"', "title = Convening sheet received")
    message = refusal(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'bad.toml'}: not valid TOML: ")
    line = VALID.splitlines().index('title = "Convening sheet received"') + 1
    assert f"line {line}" in message  # where in the file


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ProcedureError, match=rf"^{re.escape(str(path))}: no such procedure file$"):
        load_procedure(path)


def test_two_files_with_one_id_are_refused(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.toml")
    second = write(tmp_path, VALID, "b.toml")
    with pytest.raises(ProcedureError) as caught:
        load_all(tmp_path)
    assert str(caught.value) == f"{second}: id: 'exampleshire-test' is used by another file too"


# --- the command line -----------------------------------------------------------------------


def test_icpc_plan_prints_the_message_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, changed("working_days = 4", "working_days = -4"))
    code = main(["plan", "--procedure-file", str(bad), "--strategy-date", STRATEGY_DATE])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == (
        f"icpc plan: {bad}: invalid procedure\n"
        "  invitation_notice.working_days: Input should be greater than or equal to 0\n"
    )


def test_icpc_plan_with_a_file_that_is_not_toml_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "id = \n")
    code = main(["plan", "--procedure-file", str(bad), "--strategy-date", STRATEGY_DATE])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"icpc plan: {bad}: not valid TOML: ")
    assert err.count("\n") == 1


def test_the_installed_icpc_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    bad = write(tmp_path, changed('anchor = "strategy_discussion"', 'anchor = "sheet_arrived"'))
    icpc = Path(sys.executable).parent / "icpc"
    result = subprocess.run(
        [str(icpc), "plan", "--procedure-file", str(bad), "--strategy-date", STRATEGY_DATE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"icpc plan: {bad}: invalid procedure\n")
    assert "milestones.convening_sheet.anchor" in result.stderr
    assert "Traceback" not in result.stderr


def test_icpc_plan_with_the_valid_file_prints_its_schedule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, VALID, "good.toml")
    code = main(["plan", "--procedure-file", str(good), "--strategy-date", STRATEGY_DATE])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    # Monday 2 March 2026 is day 0; day 15 is Monday 23 March 2026 (no bank holiday between).
    assert "2026-03-23T17:00:00+00:00" in out


# --- [reviews]: calendar months or calendar days, one unit each (001: "3 months (90 days)") ----


def test_reviews_in_days_load_and_months_stay_the_default(tmp_path: Path) -> None:
    days = load_procedure(
        write(tmp_path, VALID + "\n[reviews]\nfirst_within_days = 90\nthen_every_days = 181\n")
    )
    assert (days.reviews.first.days, days.reviews.then.days) == (90, 181)
    assert (days.reviews.first.text, days.reviews.then.text) == ("90 days", "181 days")
    default = load_procedure(write(tmp_path, VALID, "good.toml"))
    assert (default.reviews.first.months, default.reviews.then.months) == (3, 6)
    # One interval in days, the other left to its default.
    mixed = load_procedure(
        write(tmp_path, VALID + "\n[reviews]\nfirst_within_days = 90\n", "m.toml")
    )
    assert (mixed.reviews.first.days, mixed.reviews.then.months) == (90, 6)


def test_reviews_in_both_months_and_days_are_refused(tmp_path: Path) -> None:
    text = VALID + "\n[reviews]\nfirst_within_months = 3\nfirst_within_days = 90\n"
    message = refusal(tmp_path, text)
    assert "reviews: give exactly one of first_within_months or first_within_days" in message
    message = refusal(tmp_path, VALID + "\n[reviews]\nthen_every_days = 0\n")
    assert "reviews.then_every_days: Input should be greater than 0" in message


# --- record_step: steps recorded by the role responsible for them ------------------------------

STEP = """
[[milestones]]
id = "strategy_form"
title = "Strategy meeting form completed"
anchor = "strategy_discussion"
working_days = 0
responsible = "social_worker"
satisfied_by = ["record_step"]
"""


def test_a_step_needs_its_responsible_role_among_those_who_record_steps(tmp_path: Path) -> None:
    granted = changed("[decisions]\n", '[decisions]\nrecord_step = ["social_worker"]\n') + STEP
    assert [m.id for m in load_procedure(write(tmp_path, granted, "g.toml")).steps()] == [
        "strategy_form"
    ]
    message = refusal(tmp_path, VALID + STEP)
    assert "nothing can ever satisfy it" in message
    other = changed("[decisions]\n", '[decisions]\nrecord_step = ["business_support"]\n') + STEP
    message = refusal(tmp_path, other)
    assert (
        "milestones.strategy_form: a step is recorded (record_step) by the role responsible for"
        " it, so decisions.record_step must list 'social_worker'"
    ) in message


def test_choices_and_inform_belong_to_steps_only(tmp_path: Path) -> None:
    text = changed("working_days = 6\n", 'working_days = 6\nchoices = ["hybrid", "virtual"]\n')
    message = refusal(tmp_path, text)
    assert "milestones.convening_sheet: choices and inform are for a step" in message
