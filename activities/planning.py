"""The planning activity: due dates and the working-day table, computed outside workflow code.

Its result is kept in the workflow's history, so a new bank holiday in a later release of the
holidays data never changes the replay of a case that is already running.

The procedure comes by reference: its id and the SHA-256 of its content
(:func:`contracts.case.procedure_sha256`), looked up among the procedures installed with this
worker, content-addressed (a hash names one content for ever: a file edited since is a new
version, and the old one is still found if this process has seen it). A case's first plan asks
for the procedure back (``with_procedure``): that answer is the one copy of the procedure in
force in the case's history, so replay sees exactly what the case started with whatever the
files say later. A version this worker cannot find is refused (``UnknownProcedureVersion``):
the workflow then sends the whole procedure it holds, or, for a case's first plan (it holds
none yet), waits and retries until a worker that has the version takes it. Histories from
before carry the whole procedure in each request; it is still taken.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, model_validator
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.case import ProcedureRef, procedure_sha256
from domain.calendar import LONDON, WorkingDayTable
from domain.planner import PlanningError, Schedule, plan
from domain.procedure import Procedure, ProcedureError
from domain.vocabulary import Anchor
from procedures import PROCEDURES_DIR, load_all

# How far the frozen calendar reaches: past any plausible delay, and a review cycle after it.
CALENDAR_BEFORE = timedelta(days=31)
CALENDAR_AFTER = timedelta(days=550)
UNKNOWN_PROCEDURE = "UnknownProcedureVersion"


class PlanRequest(BaseModel):
    # By reference (since procedures travelled so): the procedure in force, by id and hash.
    procedure_ref: ProcedureRef | None = None
    # The whole procedure: requests from before, and a workflow's answer to a worker that did
    # not have its version.
    procedure: Procedure | None = None
    strategy_discussion: AwareDatetime
    anchors: dict[Anchor, AwareDatetime] = {}
    # The calendar is only built when asked (the first plan, or a new review cycle).
    with_calendar: bool = False
    calendar_from: AwareDatetime | None = None
    # The procedure itself in the result: a case's first plan, the one copy in its history.
    with_procedure: bool = False

    @model_validator(mode="after")
    def _a_procedure(self) -> PlanRequest:
        if self.procedure is None and self.procedure_ref is None:
            raise ValueError("a plan needs the procedure, or its id and content hash")
        return self


class PlanResult(BaseModel):
    schedule: Schedule
    calendar: WorkingDayTable | None = None
    procedure: Procedure | None = None  # when asked (``with_procedure``)


class InstalledProcedures:
    """The procedures installed with this worker, by content hash, every version this process
    has read kept: a file edited while cases run adds a version, it never replaces one. Read
    again from the folder when a hash is not known (at most every few seconds)."""

    REREAD_AFTER = 5.0  # seconds

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory  # None: the installed procedures' folder
        self._by_hash: dict[str, Procedure] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def find(self, ref: ProcedureRef) -> Procedure | None:
        found = self._by_hash.get(ref.sha256)
        if found is None and self._read_again():
            found = self._by_hash.get(ref.sha256)
        return found if found is not None and found.id == ref.id else None

    def _read_again(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._read_at is not None and now - self._read_at < self.REREAD_AFTER:
                return False
            self._read_at = now
            try:
                installed = load_all(self._directory or PROCEDURES_DIR)
            except ProcedureError:
                return False  # a file being edited: the versions known so far still serve
            for procedure in installed.values():
                self._by_hash.setdefault(procedure_sha256(procedure), procedure)
            return True


INSTALLED = InstalledProcedures()


@activity.defn(name="plan_case")
async def plan_case(request: PlanRequest) -> PlanResult:
    """Plan the case; input it cannot plan fails at once, never retried (retrying would give
    the same answer forever)."""
    try:
        return compute_plan(request, activity.info().current_attempt_scheduled_time)
    except (PlanningError, OverflowError) as error:
        raise ApplicationError(
            f"{str(error)[:1].upper()}{str(error)[1:]}.", type="CannotPlan", non_retryable=True
        ) from None


def procedure_for(request: PlanRequest) -> Procedure:
    """The request's procedure; ``UnknownProcedureVersion`` when this worker cannot find it.
    Retried (with the activity's back-off) for a case's first plan, which has nothing else to
    send; not retried otherwise, so the workflow sends the whole procedure at once."""
    if request.procedure is not None:
        return request.procedure
    assert request.procedure_ref is not None
    ref = request.procedure_ref
    found = INSTALLED.find(ref)
    if found is None:
        raise ApplicationError(
            f"This worker has no version {ref.sha256[:12]} of the procedure '{ref.id}' (the"
            " case was started with a procedure file this worker does not have: install the"
            " same file beside the worker)",
            type=UNKNOWN_PROCEDURE,
            non_retryable=not request.with_procedure,
        )
    return found


def compute_plan(request: PlanRequest, now: datetime) -> PlanResult:
    """The schedule, and the frozen calendar when asked. The calendar reaches from a month
    before the strategy discussion (or ``calendar_from``) to well past the later of it and
    ``now`` (when the activity was scheduled, in the workflow's time), so a case registered
    late can still count every day it lives through."""
    procedure = procedure_for(request)
    schedule = plan(procedure, request.strategy_discussion, request.anchors)
    calendar = None
    if request.with_calendar:
        origin: datetime = request.calendar_from or request.strategy_discussion
        day = origin.astimezone(LONDON).date()
        last = max(day, now.astimezone(LONDON).date()) + CALENDAR_AFTER
        calendar = WorkingDayTable.from_calendar(procedure.calendar, day - CALENDAR_BEFORE, last)
    return PlanResult(
        schedule=schedule,
        calendar=calendar,
        procedure=procedure if request.with_procedure else None,
    )
