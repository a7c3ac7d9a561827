"""The command line ends with its own exit status, never a crash at interpreter exit.

Before the fix about one call in ten of ``icpc cases``, ``start`` or ``import`` printed its
result and then aborted ("Fatal Python error: PyGILState_Release", exit 134) or segfaulted:
the SDK's Rust runtime threads outlived the event loop (temporalio/sdk-python#300). These
commands are now clients of the service and load no Temporal SDK at all; still, 60
consecutive calls, each a fresh ``icpc`` process with only the service's address and a token,
must all end with status 0 and nothing fatal on stderr. The 200-call proof is ``benchmarks/cli_exit.py`` (about
two minutes on two cores; too slow for every CI run).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.cli_exit import command_env, run_calls
from tests.case_helpers import person_token
from tests.service_helpers import RunningService

CALLS = 60


async def test_consecutive_commands_end_with_their_own_status(
    service: RunningService, tmp_path: Path
) -> None:
    token = person_token("cli-exit-bss", "cp_conference_service", service_wide=True)
    tally = await asyncio.to_thread(run_calls, CALLS, command_env(service.url, token), tmp_path)
    print(tally.line())
    assert tally.calls == CALLS
    assert tally.crashes == 0, "\n".join(tally.failures)
    assert len(tally.started) == tally.by_kind["start"] + tally.by_kind["import"]
