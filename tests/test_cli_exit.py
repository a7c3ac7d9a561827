"""The command line ends with its own exit status, never a crash at interpreter exit.

Before the fix about one call in ten of ``icpc cases``, ``start`` or ``import`` printed its
result and then aborted ("Fatal Python error: PyGILState_Release", exit 134) or segfaulted:
the SDK's Rust runtime threads outlived the event loop (temporalio/sdk-python#300). Here 60
consecutive calls, each a fresh ``icpc`` process against the dev server, must all end with
status 0 and nothing fatal on stderr. The 200-call proof is ``benchmarks/cli_exit.py`` (about
two minutes on two cores; too slow for every CI run).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from benchmarks.cli_exit import command_env, run_calls
from records.database import upgrade

CALLS = 60


async def test_consecutive_commands_end_with_their_own_status(
    dev_env: WorkflowEnvironment, case_record: str, tmp_path: Path
) -> None:
    upgrade(case_record)  # the session's record, as a worker would have made it
    target = dev_env.client.service_client.config.target_host
    env = command_env(target, dev_env.client.namespace, case_record)
    tally = await asyncio.to_thread(run_calls, CALLS, env, tmp_path)
    for case_id in tally.started:  # no worker serves them here: end them now
        await dev_env.client.get_workflow_handle(case_id).terminate("test finished")
    print(tally.line())
    assert tally.calls == CALLS
    assert tally.crashes == 0, "\n".join(tally.failures)
    assert len(tally.started) == tally.by_kind["start"] + tally.by_kind["import"]
