"""Signing in with a local account (slowed after failures) and signing out."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from web.auth import sign_in
from web.dependencies import form_values, render, services
from web.problems import Problem

router = APIRouter()

FormValues = Annotated[dict[str, str], Depends(form_values)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of this site only."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/waiting"


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "/waiting") -> Response:
    if request.state.user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request,
        "sign_in.html",
        next=safe_next(next),
        expired=bool(request.state.session.pop("signed_out", False)),
        values={},
        errors={},
    )


@router.post("/sign-in")
async def sign_in_post(request: Request, values: FormValues) -> Response:
    web = services(request)
    target = safe_next(values.get("next"))
    if web.settings.trust_proxy_headers:
        raise Problem(400, "Sign in through your organisation", "This form uses single sign-on.")
    name = values.get("user", "").strip().lower()
    password = values.get("password", "")
    errors: dict[str, str] = {}
    if not name:
        errors["user"] = "Enter your sign-in id"
    if not password:
        errors["password"] = "Enter your password"
    account = None
    if not errors:
        keys = (f"user:{name}", f"ip:{request.client.host if request.client else '-'}")
        account = await asyncio.to_thread(web.users.verify, name, password)
        if account is None:
            await web.throttle.wait_after_failure(*keys)
            errors["user"] = "The sign-in id or password is not right"
        else:
            web.throttle.succeeded(*keys)
    if account is None:
        return render(
            request,
            "sign_in.html",
            400,
            next=target,
            expired=False,
            values={"user": name},
            errors=errors,
        )
    sign_in(request.state.session, account)
    return RedirectResponse(target, status_code=303)


@router.post("/sign-out")
async def sign_out(request: Request, _: FormValues) -> Response:
    request.state.session.clear()
    return RedirectResponse("/sign-in", status_code=303)
