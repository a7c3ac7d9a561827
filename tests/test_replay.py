"""Replay every saved history against the current workflow code.

A change to workflow code that would break cases already running (a different sequence of
timers, activities or search-attribute upserts without ``workflow.patched``) fails here.
Histories are recorded by ``tests/histories/record.py`` and hold invented test data only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.main import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_the_main_case_paths_are_recorded() -> None:
    names = {path.name for path in HISTORIES}
    for path in ("held", "withdrawn", "rebooked", "delayed", "late"):
        assert f"case_{path}.json" in names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_against_the_current_code(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    # Case histories carry their workflow id (the case derives its plan's id from it).
    workflow_id = data.pop("workflowId", None) or path.stem
    history = WorkflowHistory.from_json(workflow_id, data)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
