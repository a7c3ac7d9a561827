"""What callers (CLI, web form, tests) need to talk to a case workflow: names and payloads.

Kept free of workflow code so the faces can import it without loading the workflows.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Self

from pydantic import AwareDatetime, BaseModel, Field, model_validator
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from contracts import search_attributes as sa
from domain.calendar import LONDON
from domain.case_rules import CaseDecision
from domain.decisions import CaseStart
from domain.procedure import Procedure

TASK_QUEUE = "icpc-cases"
CASE_WORKFLOW = "IcpcCase"
DECIDE = "decide"  # the signal and the update share this name's meaning
DECIDE_SIGNAL = "decide_signal"
DECIDE_UPDATE = "decide"
STATE_QUERY = "state"


def procedure_sha256(procedure: Procedure) -> str:
    """The procedure's content hash: SHA-256 of its canonical JSON (keys sorted, no spaces).
    Equal content, equal hash, whichever file or process it came from."""
    canonical = json.dumps(
        procedure.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# One copy of each procedure version per process, shared by every case on the worker that runs
# under it (procedures are frozen models): a cached case holds a reference, not its own copy.
_SHARED: dict[str, Procedure] = {}


def shared_procedure(procedure: Procedure, sha256: str) -> Procedure:
    """The process's copy of the procedure whose content hash is ``sha256`` (this one, if it is
    the first seen). Equal content, so replay and decisions see exactly the same rules."""
    return _SHARED.setdefault(sha256, procedure)


class ProcedureRef(BaseModel):
    """A procedure by reference: its id, and the hash of the content in force."""

    id: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @classmethod
    def of(cls, procedure: Procedure) -> ProcedureRef:
        return cls(id=procedure.id, sha256=procedure_sha256(procedure))


class CaseInput(BaseModel):
    """The start input: the case, and the procedure in force when it started, by its content
    hash (its id is the start's ``procedure_id``). The case's first plan brings the procedure
    itself into the case's history, once (``activities.planning``).

    Cases started before procedures travelled by reference carry the whole ``procedure``
    instead; such an input is still taken (an older client), and its history replays as it
    ran."""

    start: CaseStart
    procedure_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    procedure: Procedure | None = None

    @model_validator(mode="after")
    def _a_procedure(self) -> Self:
        if self.procedure is None and self.procedure_sha256 is None:
            raise ValueError("a case starts with its procedure's content hash (or the procedure)")
        return self

    @classmethod
    def by_reference(cls, start: CaseStart, procedure: Procedure) -> CaseInput:
        """What a face sends: the start, and the hash of the procedure it was checked against."""
        return cls(start=start, procedure_sha256=procedure_sha256(procedure))

    @property
    def procedure_ref(self) -> ProcedureRef:
        if self.procedure_sha256 is not None:
            return ProcedureRef(id=self.start.procedure_id, sha256=self.procedure_sha256)
        assert self.procedure is not None
        return ProcedureRef.of(self.procedure)


class DecisionRequest(BaseModel):
    decision: CaseDecision


class DecisionResult(BaseModel):
    accepted: bool
    summary: str
    stage: str


class CaseResult(BaseModel):
    case_id: str
    stage: str
    outcome: str | None
    held_at: AwareDatetime | None
    plan_workflow_id: str | None = None


def case_workflow_id(procedure_id: str, case_reference: str, strategy: datetime) -> str:
    """One id per child per strategy discussion: no name, no date of birth, no address."""
    day = strategy.astimezone(LONDON).date()
    return f"icpc-{procedure_id}-{case_reference}-{day:%Y%m%d}"


def initial_search_attributes(case: CaseInput) -> TypedSearchAttributes:
    """Set at start, so a case is findable before its first task runs."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.PROCEDURE, case.start.procedure_id),
            SearchAttributePair(sa.CASE_REFERENCE, case.start.case_reference),
            SearchAttributePair(sa.FAMILY_REFERENCE, case.start.family_reference),
            SearchAttributePair(sa.STAGE, "starting"),
        ]
    )
