"""The floor the product is measured against: a bare workflow of a case's shape, and its worker.

``BareCase`` does what every case does and nothing more: its start sets the same search
attributes, one activity computes five due instants, the workflow upserts its stage and waits
on five timers in turn, and one update handler takes decisions (``hold`` ends it). No rules, no
procedure, no record, no mail. ``benchmarks/side_by_side.py`` runs it beside the product on
one dev server, with the same data converter (pydantic, payloads encrypted), and prints every
figure as a ratio to it.

Run as a worker process (what ``side_by_side.py`` does, so its memory is measured alone):

    .venv/bin/python benchmarks/bare_case.py --task-queue Q --max-cached-workflows N

(``TEMPORAL_ADDRESS`` and the payload key come from the environment, as for ``icpc worker``.)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import AwareDatetime, BaseModel
from temporalio import activity, workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes

if not workflow.unsafe.in_sandbox():  # run as a script: the project's packages
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

with workflow.unsafe.imports_passed_through():
    from contracts import search_attributes as sa

BARE_WORKFLOW = "BareCase"
TIMERS = 5


class BareStart(BaseModel):
    case_reference: str
    family_reference: str
    strategy_discussion: AwareDatetime


class BareDueDates(BaseModel):
    due: list[AwareDatetime]


class BareDecision(BaseModel):
    kind: str
    by: str


class BareResult(BaseModel):
    accepted: bool
    stage: str


def bare_search_attributes(start: BareStart) -> TypedSearchAttributes:
    """Set at start, as the product's are."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.PROCEDURE, "bare"),
            SearchAttributePair(sa.CASE_REFERENCE, start.case_reference),
            SearchAttributePair(sa.FAMILY_REFERENCE, start.family_reference),
            SearchAttributePair(sa.STAGE, "starting"),
        ]
    )


@activity.defn(name="bare_due_dates")
async def bare_due_dates(start: BareStart) -> BareDueDates:
    """Five due instants, a working week apart (no calendar: the floor)."""
    first = start.strategy_discussion
    return BareDueDates(due=[first + timedelta(days=7 * (n + 1)) for n in range(TIMERS)])


@workflow.defn(name=BARE_WORKFLOW)
class BareCase:
    @workflow.init
    def __init__(self, start: BareStart) -> None:
        self.decisions: list[BareDecision] = []
        self.held = False
        self.ready = False
        self.stage = "starting"

    @workflow.run
    async def run(self, start: BareStart) -> str:
        planned = await workflow.execute_activity(
            bare_due_dates, start, start_to_close_timeout=timedelta(seconds=30)
        )
        self.ready = True
        self._show("open", planned.due[0])
        for n, due in enumerate(planned.due):
            delay = max(due - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(
                    lambda: self.held, timeout=delay, timeout_summary=f"due {n + 1}"
                )
            except TimeoutError:
                continue
            break
        self._show("held" if self.held else "late", None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.stage

    def _show(self, stage: str, next_due: datetime | None) -> None:
        self.stage = stage
        workflow.upsert_search_attributes(
            [
                sa.STAGE.value_set(stage),
                sa.NEXT_DUE.value_set(next_due) if next_due else sa.NEXT_DUE.value_unset(),
            ]
        )

    @workflow.update(name="decide")
    async def decide(self, decision: BareDecision) -> BareResult:
        await workflow.wait_condition(lambda: self.ready)
        self.decisions.append(decision)
        if decision.kind == "hold":
            self.held = True
        return BareResult(accepted=True, stage="held" if self.held else self.stage)


async def run_worker(task_queue: str, max_cached: int) -> None:
    from temporalio.client import Client
    from temporalio.worker import Worker

    from runtime.connection import connect_config, data_converter

    client = await Client.connect(**connect_config(), data_converter=data_converter())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[BareCase],
        activities=[bare_due_dates],
        max_cached_workflows=max_cached,
    ):
        print("bare worker ready", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--max-cached-workflows", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(run_worker(args.task_queue, args.max_cached_workflows))


if __name__ == "__main__":
    # The workflow must live in an importable module (the sandbox re-imports it by name), not
    # in ``__main__``: run this file's ``main`` from the module ``bare_case``.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bare_case

    bare_case.main()
