"""The audit trail, for the ``admin`` role: ``/admin/audit``, newest first.

Filtered by a case reference (every case with that reference: a child may have several, and
each case's plan after the ICPC), by a person (as the one who acted, or as the account
changed), by both, or by neither (the latest rows). Reading it is itself audited
(``read_audit``), and so is a refused attempt by someone without the admin role.

The API's ``GET /api/v1/audit`` (:mod:`web.api_audit`, what ``icpc audit`` asks) reads it
through the same :func:`check_audit_reader`, :func:`read_trail` and :func:`audit_trail_read`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from domain.calendar import LONDON
from domain.people import ADMIN, PERSON_ID, Person
from records.audit import Action, AuditEntry, Channel, Outcome
from records.store import RecordStore
from web.dependencies import address, render, require_user, services
from web.problems import Problem
from web.users import Accounts

router = APIRouter()

LIMIT = 200  # rows on the page, newest first
REFERENCE_LIMIT = 200
FIELD_IDS = {"case": "f-case", "person": "f-person"}


@dataclass(frozen=True)
class Search:
    case: str = ""
    person: str = ""


async def check_audit_reader(
    request: Request, user: Person, channel: Channel = Channel.WEB
) -> Person:
    """The person, if they may read the trail (an administrator); else a 403, audited."""
    if not user.holds(ADMIN):
        entry = AuditEntry(
            Action.READ_AUDIT,
            Outcome.REFUSED,
            channel,
            actor=user.id,
            address=address(request),
            detail="no admin role",
        )
        await services(request).accounts.run(lambda a: a.audit(entry))
        raise Problem(
            403,
            "You cannot read the audit trail",
            "Only an account administrator can read the audit trail.",
        )
    return user


async def require_audit_reader(request: Request) -> Person:
    return await check_audit_reader(request, require_user(request))


Reader = Annotated[Person, Depends(require_audit_reader)]


def _case_ids(store: RecordStore, reference: str) -> list[str]:
    """Each case a reference (or a case's id) names, with its plan's stream (the plan's id is
    the case's plus ``-plan``)."""
    found = [summary.case_id for summary in store.find(reference)]
    if not found and reference.startswith("icpc-") and store.summary(reference) is not None:
        found = [reference]
    return [i for case_id in found for i in (case_id, f"{case_id}-plan")]


def search_of(case: str | None, person: str | None) -> Search:
    return Search(
        case=(case or "").strip()[:REFERENCE_LIMIT],
        person=(person or "").strip().lower()[:REFERENCE_LIMIT],
    )


@dataclass
class Trail:
    """The rows a search finds, newest first; ``errors`` by field when it names nothing."""

    search: Search
    rows: Sequence[AuditEntry] = ()
    errors: dict[str, str] = field(default_factory=dict)
    case_ids: list[str] | None = None


async def read_trail(request: Request, search: Search, limit: int = LIMIT) -> Trail:
    web = services(request)
    trail = Trail(search)
    if search.case:
        reference = search.case
        trail.case_ids = await web.records.read(lambda store: _case_ids(store, reference))
        if not trail.case_ids:
            trail.errors["case"] = f"No case has the reference {search.case}"
    if search.person and not PERSON_ID.match(search.person):
        trail.errors["person"] = "A sign-in id is lower-case letters, digits and . _ @ -"
    if not trail.errors:
        person = search.person or None
        case_ids = trail.case_ids

        def read(accounts: Accounts) -> tuple[Sequence[AuditEntry], bool]:
            found = accounts.parts().audit.read(case_ids=case_ids, actor=person, limit=limit)
            known = person is None or bool(found) or accounts.people.get(person) is not None
            return found, known

        trail.rows, known = await web.accounts.run(read)
        if not known:
            trail.errors["person"] = f"No person has the sign-in id {search.person}"
    return trail


async def audit_trail_read(
    request: Request, admin: Person, trail: Trail, channel: Channel = Channel.WEB
) -> None:
    """The ``read_audit`` row of one read of the trail: what was searched for, how many rows."""
    search, errors, case_ids = trail.search, trail.errors, trail.case_ids
    described = ", ".join(
        f"{name} {value}"
        for name, value in (("case", search.case), ("person", search.person))
        if value
    )
    entry = AuditEntry(
        Action.READ_AUDIT,
        Outcome.REFUSED if errors else Outcome.OK,
        channel,
        actor=admin.id,
        actor_role=ADMIN,
        case_id=case_ids[0] if case_ids and len(case_ids) == 2 else None,
        target=search.person or None,
        address=address(request),
        detail=f"{described or 'latest'} (rows {len(trail.rows)})"
        + (f": {'; '.join(errors.values())}" if errors else ""),
    )
    await services(request).accounts.run(lambda a: a.audit(entry))


@router.get("/admin/audit")
async def audit_page(request: Request, admin: Reader) -> Response:
    search = search_of(request.query_params.get("case"), request.query_params.get("person"))
    trail = await read_trail(request, search)
    await audit_trail_read(request, admin, trail)
    rows, errors = trail.rows, trail.errors
    return render(
        request,
        "audit.html",
        400 if errors else 200,
        search=search,
        rows=rows,
        errors=errors,
        field_ids=FIELD_IDS,
        limit=LIMIT,
        when=when,
    )


def when(at: datetime) -> str:
    """To the second, in London: an audit is read to establish what happened in which order."""
    local = at.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%B %Y}, {local:%H:%M:%S}"
