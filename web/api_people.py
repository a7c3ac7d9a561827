"""People administration over the API, for the ``admin`` role only: what ``icpc users`` does.

The rules and the audit are the Accounts pages' own (:mod:`web.account_operations`): an
administrator cannot change their own roles or scope, nor disable or remove themselves; a
password set here is temporary (changed at the person's next sign-in); every change, and every
refusal, is one row of the audit trail (channel ``api``). A caller without the admin role is
refused (403), audited too. Routes: docs/api.md, *People administration*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from domain.people import ADMIN, Person
from records.audit import Action, AuditEntry, Channel, Outcome
from records.signin_guard import LockKind
from web import account_operations as ops
from web.api_door import ApiPerson
from web.dependencies import address, services
from web.problems import Problem
from web.users import Accounts

T = TypeVar("T")

router = APIRouter(tags=["people administration"])

NOT_ADMIN = "Only an account administrator can see or change accounts."
TITLES = {400: "The change cannot be made", 403: "Refused", 404: "No such person"}


async def api_admin(request: Request, person: ApiPerson) -> Person:
    """The caller, who must hold the admin role; a refusal is audited (whose account it was
    about, when the path names one)."""
    if person.holds(ADMIN):
        return person
    entry = AuditEntry(
        Action.ACCOUNT_CHANGE,
        Outcome.REFUSED,
        Channel.API,
        actor=person.id,
        target=request.path_params.get("person_id"),
        address=address(request),
        detail=f"{request.method} {request.url.path}: refused: not an administrator",
    )
    await services(request).accounts.run(lambda a: a.audit(entry))
    raise Problem(403, "You cannot manage accounts", NOT_ADMIN)


Admin = Annotated[Person, Depends(api_admin)]


class PersonOut(BaseModel):
    id: str
    name: str
    email: str | None
    roles: list[str]
    teams: list[str]
    areas: list[str]
    service_wide: bool
    active: bool
    locked: bool = Field(description="failed sign-ins have locked this sign-in id for a while")
    has_password: bool = Field(description="false: single sign-on only")
    password_must_change: bool = Field(description="a temporary password, not yet changed")


class NewPersonIn(BaseModel):
    id: str = Field(description="the sign-in id, recorded with each decision")
    roles: list[str] = Field(min_length=1)
    name: str = ""
    email: str = ""
    teams: list[str] = []
    areas: list[str] = []
    service_wide: bool = False
    password: str | None = Field(
        None, description="a temporary password, changed at first sign-in; none: single sign-on"
    )


class PersonChange(BaseModel):
    """What to change; a field left out stays as it is. Lists replace the old ones."""

    name: str | None = None
    email: str | None = None
    roles: list[str] | None = Field(None, min_length=1)
    teams: list[str] | None = None
    areas: list[str] | None = None
    service_wide: bool | None = None


class PasswordIn(BaseModel):
    password: str = Field(description="a temporary password: they choose their own at sign-in")


class TokenIn(BaseModel):
    label: str = Field("", description="what the token is for (a laptop, a case system)")


class TokenOut(BaseModel):
    person_id: str
    label: str
    token: str = Field(description="shown this once; only its hash is kept")


class Revoked(BaseModel):
    person_id: str
    revoked: int


class Removed(BaseModel):
    person_id: str


class AddressIn(BaseModel):
    address: str = Field(min_length=1, max_length=100)


class Unlocked(BaseModel):
    what: str
    unlocked: bool = Field(description="false: there were no failed sign-ins to forget")


class ImportIn(BaseModel):
    source: str = Field(description="the file's name, for the audit trail")
    accounts: dict[str, Any] = Field(description='the old accounts file\'s "users"')


class Skipped(BaseModel):
    id: str
    reason: str


class ImportOut(BaseModel):
    imported: list[str]
    skipped: list[Skipped]


def _out(accounts: Accounts, person: Person, locked: set[str] | None = None) -> PersonOut:
    if locked is None:
        locked = _locked(accounts)
    return PersonOut(
        id=person.id,
        name=person.name,
        email=person.email,
        roles=sorted(person.roles),
        teams=sorted(person.teams),
        areas=sorted(person.areas),
        service_wide=person.service_wide,
        active=person.active,
        locked=person.id in locked,
        has_password=accounts.people.has_password(person.id),
        password_must_change=person.password_must_change,
    )


def _locked(accounts: Accounts) -> set[str]:
    return {lock.value for lock in accounts.guard.locks() if lock.kind is LockKind.ACCOUNT}


async def _run(request: Request, admin: Person, call: Callable[[Accounts, ops.Operator], T]) -> T:
    """``call(accounts, operator)`` in a thread; its refusal as a problem detail."""
    op = ops.Operator(admin.id, Channel.API, address(request))
    try:
        found: T = await services(request).accounts.run(lambda accounts: call(accounts, op))
    except ops.AccountRefused as refused:
        raise Problem(
            refused.status, TITLES.get(refused.status, "Refused"), refused.message
        ) from None
    return found


@router.get("/people", response_model=list[PersonOut], summary="Everyone who may sign in")
async def list_people(request: Request, admin: Admin) -> list[PersonOut]:
    def read(accounts: Accounts, _: ops.Operator) -> list[PersonOut]:
        locked = _locked(accounts)
        return [_out(accounts, p, locked) for p in accounts.people.all()]

    return await _run(request, admin, read)


@router.get("/people/{person_id}", response_model=PersonOut, summary="One person")
async def show_person(request: Request, person_id: str, admin: Admin) -> PersonOut:
    return await _run(request, admin, lambda a, _: _out(a, ops.person(a, person_id)))


@router.post(
    "/people",
    response_model=PersonOut,
    status_code=201,
    summary="Add a person, with a temporary password or none (single sign-on)",
)
async def add_person(request: Request, body: NewPersonIn, admin: Admin) -> PersonOut:
    new = ops.NewPerson(
        body.id,
        roles=body.roles,
        name=body.name,
        email=body.email,
        teams=body.teams,
        areas=body.areas,
        service_wide=body.service_wide,
        password=body.password,
    )
    return await _run(request, admin, lambda a, op: _out(a, ops.add(a, op, new)))


@router.patch(
    "/people/{person_id}",
    response_model=PersonOut,
    summary="Change a person's name, email, roles, teams, areas or service-wide scope",
)
async def change_person(
    request: Request, person_id: str, body: PersonChange, admin: Admin
) -> PersonOut:
    def apply(accounts: Accounts, op: ops.Operator) -> PersonOut:
        changed = ops.change(accounts, op, person_id, **body.model_dump(exclude_unset=True))
        return _out(accounts, changed)

    return await _run(request, admin, apply)


@router.post(
    "/people/{person_id}/password",
    response_model=PersonOut,
    summary="Set a temporary password (they choose their own at sign-in); ends their sessions",
)
async def set_password(
    request: Request, person_id: str, body: PasswordIn, admin: Admin
) -> PersonOut:
    def apply(accounts: Accounts, op: ops.Operator) -> PersonOut:
        ops.set_temporary_password(accounts, op, person_id, body.password)
        return _out(accounts, ops.person(accounts, person_id))

    return await _run(request, admin, apply)


@router.post(
    "/people/{person_id}/disable",
    response_model=PersonOut,
    summary="Stop a person signing in or acting (their sessions end, their tokens stop)",
)
async def disable_person(request: Request, person_id: str, admin: Admin) -> PersonOut:
    return await _run(
        request, admin, lambda a, op: _out(a, ops.set_active(a, op, person_id, False))
    )


@router.post("/people/{person_id}/enable", response_model=PersonOut, summary="Let a person back in")
async def enable_person(request: Request, person_id: str, admin: Admin) -> PersonOut:
    return await _run(request, admin, lambda a, op: _out(a, ops.set_active(a, op, person_id, True)))


@router.delete(
    "/people/{person_id}",
    response_model=Removed,
    summary="Remove a person (their recorded decisions stay)",
)
async def remove_person(request: Request, person_id: str, admin: Admin) -> Removed:
    def apply(accounts: Accounts, op: ops.Operator) -> Removed:
        found = ops.person(accounts, person_id)
        ops.remove(accounts, op, found.id)
        return Removed(person_id=found.id)

    return await _run(request, admin, apply)


@router.post(
    "/people/{person_id}/unlock",
    response_model=Unlocked,
    summary="Forget the failed sign-ins that locked a sign-in id",
)
async def unlock_person(request: Request, person_id: str, admin: Admin) -> Unlocked:
    def apply(accounts: Accounts, op: ops.Operator) -> Unlocked:
        found = ops.unlock_account(accounts, op, person_id)
        return Unlocked(what=f"sign-in id {person_id.strip().lower()}", unlocked=found)

    return await _run(request, admin, apply)


@router.post(
    "/address-locks/unlock",
    response_model=Unlocked,
    summary="Forget the failed sign-ins that locked a client address",
)
async def unlock_address(request: Request, body: AddressIn, admin: Admin) -> Unlocked:
    def apply(accounts: Accounts, op: ops.Operator) -> Unlocked:
        found = ops.unlock_address(accounts, op, body.address)
        return Unlocked(what=f"address {body.address.strip()}", unlocked=found)

    return await _run(request, admin, apply)


@router.post(
    "/people/{person_id}/tokens",
    response_model=TokenOut,
    status_code=201,
    summary="Issue a person token (answered this once): whoever holds it acts as the person",
)
async def issue_token(request: Request, person_id: str, body: TokenIn, admin: Admin) -> TokenOut:
    def apply(accounts: Accounts, op: ops.Operator) -> TokenOut:
        token = ops.issue_token(accounts, op, person_id, body.label)
        return TokenOut(person_id=person_id.strip().lower(), label=body.label, token=token)

    return await _run(request, admin, apply)


@router.delete(
    "/people/{person_id}/tokens",
    response_model=Revoked,
    summary="Revoke every token of a person's",
)
async def revoke_tokens(request: Request, person_id: str, admin: Admin) -> Revoked:
    def apply(accounts: Accounts, op: ops.Operator) -> Revoked:
        count = ops.revoke_tokens(accounts, op, person_id)
        return Revoked(person_id=person_id.strip().lower(), revoked=count)

    return await _run(request, admin, apply)


@router.post(
    "/people/import",
    response_model=ImportOut,
    summary="Import the old accounts file's people, with their argon2 password hashes",
)
async def import_people(request: Request, body: ImportIn, admin: Admin) -> ImportOut:
    def apply(accounts: Accounts, op: ops.Operator) -> ImportOut:
        done = ops.import_accounts(accounts, op, body.source, body.accounts)
        return ImportOut(
            imported=done.imported,
            skipped=[Skipped(id=i, reason=why) for i, why in done.skipped],
        )

    return await _run(request, admin, apply)
