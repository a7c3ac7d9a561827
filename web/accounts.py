"""Accounts, for the ``admin`` role: list people, add one, change their roles, teams and areas,
disable or enable them, set a temporary password, and unlock an account or an address that
failed sign-ins locked. Every change, and every refused one, is written to the audit trail.

A change takes effect on the person's very next request: every request loads the person from
the database. The rules and the audit are :mod:`web.account_operations`, which the API shares:
an administrator cannot change their own roles, teams or areas, nor disable themselves (another
administrator must), and a password set here is temporary (changed at the next sign-in).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from domain.people import PRODUCT_ROLES, Person
from domain.wording import capitalised
from records.audit import Channel, Outcome
from records.signin_guard import Lock, LockKind
from web import account_operations as ops
from web.dependencies import (
    address,
    form_lists,
    form_values,
    render,
    require_admin,
    services,
)
from web.presentation import role_in_sentence
from web.problems import Problem
from web.users import Accounts

router = APIRouter()

Admin = Annotated[Person, Depends(require_admin)]
FormValues = Annotated[dict[str, str], Depends(form_values)]
FormLists = Annotated[dict[str, list[str]], Depends(form_lists)]

NOTICE = "account_notice"  # a one-off "done" message, in the admin's session
NO_ROLE = "Select at least one role"  # the Design System's wording for checkboxes left empty
_UNITS = re.compile(r"[\s,]+")


def role_options(request: Request) -> list[tuple[str, str]]:
    """Every role a person may be given, with its title: the procedures' and the product's."""
    procedures = services(request).procedures
    ids = {role.id for p in procedures.values() for role in p.roles}
    options = [(r, capitalised(role_in_sentence(procedures, r))) for r in sorted(ids)]
    return options + [(r, title) for r, title in PRODUCT_ROLES.items()]


def units(text: str) -> list[str]:
    return [u for u in _UNITS.split(text) if u]


def operator(request: Request, admin: Person) -> ops.Operator:
    return ops.Operator(admin.id, Channel.WEB, address(request))


async def change(
    request: Request, admin: Person, call: Callable[[Accounts, ops.Operator], Any]
) -> dict[str, str] | None:
    """Make a change (audited by :mod:`web.account_operations`); if it was refused, the
    reason by field."""
    op = operator(request, admin)
    try:
        await services(request).accounts.run(lambda accounts: call(accounts, op))
    except ops.AccountRefused as refused:
        if refused.status == 404:
            raise Problem(
                404, "Account not found", "There is no account with this sign-in id."
            ) from None
        return {refused.field: capitalised(refused.message)}
    return None


def done(request: Request, message: str, to: str) -> Response:
    request.state.session[NOTICE] = message
    return RedirectResponse(to, status_code=303)


def summary(person: Person) -> dict[str, str]:
    return {
        "roles": ", ".join(sorted(person.roles)),
        "teams": ", ".join(sorted(person.teams)),
        "areas": ", ".join(sorted(person.areas)),
    }


# --- the list -------------------------------------------------------------------------------


@router.get("/accounts")
async def accounts_page(request: Request, admin: Admin) -> Response:
    def read(accounts: Accounts) -> tuple[list[Person], list[Lock]]:
        return accounts.people.all(), accounts.guard.locks()

    people, locks = await services(request).accounts.run(read)
    locked = {lock.value for lock in locks if lock.kind is LockKind.ACCOUNT}
    return render(
        request,
        "accounts.html",
        active="accounts",
        people=people,
        locked=locked,
        address_locks=[lock for lock in locks if lock.kind is LockKind.ADDRESS],
        account_locks=[lock for lock in locks if lock.kind is LockKind.ACCOUNT],
        notice=request.state.session.pop(NOTICE, None),
        summary=summary,
    )


# --- adding ---------------------------------------------------------------------------------


def new_form(
    request: Request,
    status: int = 200,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Response:
    return render(
        request,
        "account_new.html",
        status,
        active="accounts",
        values=dict(values or {"roles": []}),
        errors=dict(errors or {}),
        role_options=role_options(request),
    )


@router.get("/accounts/new")
async def new_account_page(request: Request, admin: Admin) -> Response:
    return new_form(request)


@router.post("/accounts/new")
async def add_account(
    request: Request, admin: Admin, values: FormValues, lists: FormLists
) -> Response:
    person_id = values.get("person_id", "").strip().lower()
    roles = lists.get("roles", [])
    shown = {
        "person_id": person_id,
        "name": values.get("name", ""),
        "email": values.get("email", ""),
        "teams": values.get("teams", ""),
        "areas": values.get("areas", ""),
        "service_wide": values.get("service_wide", ""),
        "roles": roles,
    }
    errors: dict[str, str] = {}
    if not person_id:
        errors["person_id"] = "Enter a sign-in id"
    if not roles:
        errors["roles"] = NO_ROLE
    if not values.get("password"):
        errors["password"] = "Enter a temporary password"
    if errors:
        return new_form(request, 400, shown, errors)
    new = ops.NewPerson(
        person_id,
        roles=roles,
        name=values.get("name", ""),
        email=values.get("email", ""),
        teams=units(values.get("teams", "")),
        areas=units(values.get("areas", "")),
        service_wide=bool(values.get("service_wide")),
        password=values.get("password", ""),
    )
    refusal = await change(request, admin, lambda a, op: ops.add(a, op, new))
    if refusal is not None:
        return new_form(request, 400, shown, refusal)
    return done(request, f"Account {person_id} added.", f"/accounts/{person_id}")


# --- one person -----------------------------------------------------------------------------


async def load_person(request: Request, person_id: str) -> tuple[Person, bool, bool]:
    """The person, whether their sign-in id is locked, and whether they have a password."""

    def read(accounts: Accounts) -> tuple[Person | None, bool, bool]:
        person = accounts.people.get(person_id)
        if person is None:
            return None, False, False
        locked = any(
            lock.kind is LockKind.ACCOUNT and lock.value == person.id
            for lock in accounts.guard.locks()
        )
        return person, locked, accounts.people.has_password(person.id)

    person, locked, has_password = await services(request).accounts.run(read)
    if person is None:
        raise Problem(404, "Account not found", "There is no account with this sign-in id.")
    return person, locked, has_password


async def person_page(
    request: Request,
    person_id: str,
    status: int = 200,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Response:
    person, locked, has_password = await load_person(request, person_id)
    shown = values or {
        "name": person.name,
        "email": person.email or "",
        "roles": sorted(person.roles),
        "teams": " ".join(sorted(person.teams)),
        "areas": " ".join(sorted(person.areas)),
        "service_wide": "yes" if person.service_wide else "",
    }
    return render(
        request,
        "account.html",
        status,
        active="accounts",
        person=person,
        locked=locked,
        has_password=has_password,
        values=shown,
        errors=dict(errors or {}),
        role_options=role_options(request),
        notice=request.state.session.pop(NOTICE, None),
    )


@router.get("/accounts/{person_id}")
async def account_page(request: Request, person_id: str, admin: Admin) -> Response:
    return await person_page(request, person_id)


@router.post("/accounts/{person_id}/details")
async def change_details(
    request: Request, person_id: str, admin: Admin, values: FormValues, lists: FormLists
) -> Response:
    person, _, _ = await load_person(request, person_id)
    roles = lists.get("roles", [])
    shown = {**values, "roles": roles}
    if not roles:
        op = operator(request, admin)
        refused = f"change refused: {NO_ROLE}"
        await services(request).accounts.run(
            lambda a: ops.audit(a, op, person.id, refused, Outcome.REFUSED)
        )
        return await person_page(request, person.id, 400, shown, {"roles": NO_ROLE})
    refusal = await change(
        request,
        admin,
        lambda a, op: ops.change(
            a,
            op,
            person.id,
            name=values.get("name", ""),
            email=values.get("email", ""),
            roles=roles,
            teams=units(values.get("teams", "")),
            areas=units(values.get("areas", "")),
            service_wide=bool(values.get("service_wide")),
        ),
    )
    if refusal is not None:
        return await person_page(request, person.id, 400, shown, refusal)
    return done(request, f"The account of {person.id} is changed.", f"/accounts/{person.id}")


@router.post("/accounts/{person_id}/password")
async def reset_password(
    request: Request, person_id: str, admin: Admin, values: FormValues
) -> Response:
    person, _, _ = await load_person(request, person_id)
    password = values.get("password", "")
    if not password:
        return await person_page(
            request, person.id, 400, None, {"password": "Enter a temporary password"}
        )

    refusal = await change(
        request, admin, lambda a, op: ops.set_temporary_password(a, op, person.id, password)
    )
    if refusal is not None:
        return await person_page(request, person.id, 400, None, refusal)
    return done(
        request,
        f"A temporary password is set for {person.id}: give it to them in person or by phone,"
        " never by email. They choose their own when they next sign in.",
        f"/accounts/{person.id}",
    )


@router.post("/accounts/{person_id}/status")
async def change_status(
    request: Request, person_id: str, admin: Admin, values: FormValues
) -> Response:
    person, _, _ = await load_person(request, person_id)
    enable = values.get("action") == "enable"
    refusal = await change(request, admin, lambda a, op: ops.set_active(a, op, person.id, enable))
    if refusal is not None:
        return await person_page(request, person.id, 400, None, refusal)
    word = "enabled" if enable else "disabled"
    return done(request, f"The account of {person.id} is {word}.", f"/accounts/{person.id}")


@router.post("/accounts/{person_id}/unlock")
async def unlock_account(
    request: Request, person_id: str, admin: Admin, values: FormValues
) -> Response:
    person, _, _ = await load_person(request, person_id)
    await change(request, admin, lambda a, op: ops.unlock_account(a, op, person.id))
    return done(request, f"Signing in as {person.id} is unlocked.", f"/accounts/{person.id}")


@router.post("/accounts/unlock-address")
async def unlock_address(request: Request, admin: Admin, values: FormValues) -> Response:
    where = values.get("address", "").strip()[:100]
    if where:
        await change(request, admin, lambda a, op: ops.unlock_address(a, op, where))
    return done(request, f"Signing in from {where} is unlocked.", "/accounts")
