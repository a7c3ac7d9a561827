"""The audit trail, for the ``admin`` role: ``/admin/audit``, newest first.

Filtered by a case reference (every case with that reference: a child may have several, and
each case's plan after the ICPC), by a person (as the one who acted, or as the account
changed), by both, or by neither (the latest rows). Reading it is itself audited
(``read_audit``), and so is a refused attempt by someone without the admin role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


async def require_audit_reader(request: Request) -> Person:
    user = require_user(request)
    if not user.holds(ADMIN):
        entry = AuditEntry(
            Action.READ_AUDIT,
            Outcome.REFUSED,
            Channel.WEB,
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


Reader = Annotated[Person, Depends(require_audit_reader)]


def _case_ids(store: RecordStore, reference: str) -> list[str]:
    """Each case a reference names, with its plan's stream (the plan's id is the case's
    plus ``-plan``)."""
    return [
        case_id
        for summary in store.find(reference)
        for case_id in (summary.case_id, f"{summary.case_id}-plan")
    ]


@router.get("/admin/audit")
async def audit_page(request: Request, admin: Reader) -> Response:
    web = services(request)
    search = Search(
        case=request.query_params.get("case", "").strip()[:REFERENCE_LIMIT],
        person=request.query_params.get("person", "").strip().lower()[:REFERENCE_LIMIT],
    )
    errors: dict[str, str] = {}
    case_ids: list[str] | None = None
    if search.case:
        reference = search.case
        case_ids = await web.records.read(lambda store: _case_ids(store, reference))
        if not case_ids:
            errors["case"] = f"No case has the reference {search.case}"
    if search.person and not PERSON_ID.match(search.person):
        errors["person"] = "A sign-in id is lower-case letters, digits and . _ @ -"

    rows: Sequence[AuditEntry] = []
    if not errors:
        person = search.person or None

        def read(accounts: Accounts) -> tuple[Sequence[AuditEntry], bool]:
            found = accounts.parts().audit.read(case_ids=case_ids, actor=person, limit=LIMIT)
            known = person is None or bool(found) or accounts.people.get(person) is not None
            return found, known

        rows, known = await web.accounts.run(read)
        if not known:
            errors["person"] = f"No person has the sign-in id {search.person}"

    described = ", ".join(
        f"{name} {value}"
        for name, value in (("case", search.case), ("person", search.person))
        if value
    )
    entry = AuditEntry(
        Action.READ_AUDIT,
        Outcome.REFUSED if errors else Outcome.OK,
        Channel.WEB,
        actor=admin.id,
        actor_role=ADMIN,
        case_id=case_ids[0] if case_ids and len(case_ids) == 2 else None,
        target=search.person or None,
        address=address(request),
        detail=f"{described or 'latest'} (rows {len(rows)})"
        + (f": {'; '.join(errors.values())}" if errors else ""),
    )
    await web.accounts.run(lambda a: a.audit(entry))
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
