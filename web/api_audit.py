"""``GET /api/v1/audit``: the audit trail for an administrator, newest first (what ``icpc audit``
asks for).

The same search as the ``/admin/audit`` page (:mod:`web.audit_pages`): by a case reference (or
a case's id; every case with that reference, and each case's plan), by a person (as the one who
acted or as the account changed), by both, or by neither (the latest rows). Only an
administrator reads it; every read and every refusal is a ``read_audit`` row (channel ``api``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from domain.people import Person
from records.audit import AuditEntry, Channel
from web import audit_pages
from web.api_door import ApiPerson
from web.problems import Problem

router = APIRouter(tags=["audit"])

DEFAULT_LIMIT = 500
MAX_LIMIT = 100_000


class AuditRow(BaseModel):
    """One row: who (and in which role) did what, with what outcome, through which door."""

    at: datetime
    actor: str | None
    actor_role: str | None
    action: str
    outcome: str
    channel: str
    address: str | None
    case_id: str | None
    target: str | None
    detail: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditRow:
        return cls(
            at=entry.at,
            actor=entry.actor,
            actor_role=entry.actor_role,
            action=entry.action.value,
            outcome=entry.outcome.value,
            channel=entry.channel.value,
            address=entry.address,
            case_id=entry.case_id,
            target=entry.target,
            detail=entry.detail,
        )


async def _administrator(request: Request, person: ApiPerson) -> Person:
    return await audit_pages.check_audit_reader(request, person, Channel.API)


@router.get(
    "/audit",
    response_model=list[AuditRow],
    summary="The audit trail for a case or a person, newest first",
)
async def audit_trail(
    request: Request,
    admin: Annotated[Person, Depends(_administrator)],
    case: Annotated[
        str | None, Query(description="a case reference, or a case's id", max_length=200)
    ] = None,
    person: Annotated[
        str | None, Query(description="a sign-in id: as actor or account changed", max_length=200)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows at most")] = DEFAULT_LIMIT,
) -> list[AuditRow]:
    trail = await audit_pages.read_trail(request, audit_pages.search_of(case, person), limit)
    await audit_pages.audit_trail_read(request, admin, trail, Channel.API)
    if trail.errors:
        status = 404 if all(e.startswith("No ") for e in trail.errors.values()) else 400
        raise Problem(status, "Nothing to read", "; ".join(trail.errors.values()))
    return [AuditRow.of(entry) for entry in trail.rows]
