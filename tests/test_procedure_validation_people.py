"""Bad values in the procedure fields that say who is told of delays, cancellations and review
moves are refused with a ProcedureError naming the file and the field (issue 11, section 5)."""

from __future__ import annotations

import re
from pathlib import Path

from procedures import load_procedure
from tests.test_procedure_validation import VALID, refusal, write


def test_delays_and_cancellation_notices_load(tmp_path: Path) -> None:
    text = VALID + (
        '\n[delays]\nrequest_by_working_day = 7\nlate_request_escalate_to = ["business_support"]'
        '\nrequest_copy_to = ["business_support"]\ndecision_copy_to = ["social_worker"]\n'
    )
    proc = load_procedure(write(tmp_path, text, "good.toml"))
    assert proc.delays.request_by_working_day == 7
    assert proc.delays.decision_copy_to == ["social_worker"]


def test_an_old_file_without_delays_gets_no_one_copied(tmp_path: Path) -> None:
    proc = load_procedure(write(tmp_path, VALID, "good.toml"))
    assert proc.delays.request_by_working_day is None
    assert proc.delays.request_copy_to == [] and proc.reviews.notify_moves_within_timescale == []


def test_an_undeclared_role_copied_on_delay_requests_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, VALID + '\n[delays]\nrequest_copy_to = ["head_of_safeguarding"]\n')
    assert (
        "  delays.request_copy_to: role 'head_of_safeguarding' is not declared in [[roles]]"
        in message
    )


def test_a_late_escalation_without_a_day_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path, VALID + '\n[delays]\nlate_request_escalate_to = ["business_support"]\n'
    )
    assert re.search(
        r"^  delays: late_request_escalate_to is given but request_by_working_day is not",
        message,
        re.M,
    )


def test_a_negative_request_day_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, VALID + "\n[delays]\nrequest_by_working_day = -1\n")
    assert re.search(
        r"^  delays\.request_by_working_day: Input should be greater than or equal to 0$",
        message,
        re.M,
    )


def test_an_undeclared_role_told_of_a_stand_down_is_refused(tmp_path: Path) -> None:
    text = VALID + (
        '\n[[stand_down_reasons]]\nid = "no_longer_needed"\ntitle = "No longer needed"'
        '\nends_case = true\nnotify = ["clerk"]\n'
    )
    message = refusal(tmp_path, text)
    assert "  stand_down_reasons.no_longer_needed.notify: role 'clerk' is not declared" in message


def test_an_undeclared_role_told_of_review_moves_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path, VALID + '\n[reviews]\nnotify_moves_within_timescale = ["ops_manager"]\n'
    )
    assert "  reviews.notify_moves_within_timescale: role 'ops_manager' is not declared" in message
