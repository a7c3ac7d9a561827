"""``/change-password``: a person changes their own local password.

A password someone else set (an administrator adding them or resetting theirs, the first
administrator's bootstrap) is temporary (``Person.password_must_change``). Signing in with it
marks the session (:data:`MUST_CHANGE`); until the person has chosen their own, every other
page sends them here and the API refuses that session (403). Their person tokens still work:
an administrator issued those deliberately, and a token never came from the temporary password.
Signing in by single sign-on never marks a session: those people have no password here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from domain.people import Person
from domain.wording import capitalised
from records.audit import Channel
from web import account_operations as ops
from web.dependencies import address, form_values, render, services, signed_in_user

PATH = "/change-password"
MUST_CHANGE = "password_must_change"  # in the session: signed in with a temporary password
NOTICE = "password_notice"
# What a person with a temporary password may still reach: this page, and signing out.
OPEN_PATHS = frozenset({PATH, "/sign-out"})
CHANGE_FIRST = "change your password first: sign in to the web form and choose your own"

router = APIRouter()

User = Annotated[Person, Depends(signed_in_user)]
FormValues = Annotated[dict[str, str], Depends(form_values)]


def change_due(request: Request) -> bool:
    """Whether this request's session signed in with a temporary password not yet changed."""
    user: Person | None = getattr(request.state, "user", None)
    session = getattr(request.state, "session", {})
    return user is not None and user.password_must_change and session.get(MUST_CHANGE) is True


async def _page(
    request: Request, user: Person, status: int = 200, errors: Mapping[str, str] | None = None
) -> Response:
    has_password = await services(request).accounts.run(lambda a: a.people.has_password(user.id))
    return render(
        request,
        "change_password.html",
        status,
        has_password=has_password,
        must_change=change_due(request),
        errors=dict(errors or {}),
        notice=request.state.session.pop(NOTICE, None),
    )


@router.get(PATH)
async def change_password_page(request: Request, user: User) -> Response:
    return await _page(request, user)


@router.post(PATH)
async def change_password(request: Request, user: User, values: FormValues) -> Response:
    current, new = values.get("current_password", ""), values.get("password", "")
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = "Enter your current password"
    if not new:
        errors["password"] = "Enter a new password"
    elif values.get("password_again", "") != new:
        errors["password_again"] = "The passwords do not match"
    if errors:
        return await _page(request, user, 400, errors)
    where = address(request)
    try:
        await services(request).accounts.run(
            lambda a: ops.change_own_password(a, user, Channel.WEB, where, current, new)
        )
    except ops.AccountRefused as refused:
        return await _page(request, user, 400, {refused.field: capitalised(refused.message)})
    request.state.session.pop(MUST_CHANGE, None)
    request.state.session[NOTICE] = "Your password is changed."
    return RedirectResponse(PATH, status_code=303)
