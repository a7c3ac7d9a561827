"""The floor for benchmarks: a workflow that takes updates and does nothing else."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="BareDecisions")
class BareDecisions:
    def __init__(self) -> None:
        self.decisions: list[str] = []
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return len(self.decisions)

    @workflow.update
    async def decide(self, decision: str) -> str:
        self.decisions.append(decision)
        return decision

    @workflow.signal
    def finish(self) -> None:
        self.done = True
