"""Signing in with a local account (locked after repeated failures, slowed a little too) and
signing out, which ends the session in the database and, after a single sign-on whose provider
advertises an end-session endpoint, goes on to sign out there too (:mod:`web.oidc`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from web import password_pages
from web.auth import SIGNED_OUT
from web.dependencies import address, form_values, render, services
from web.oidc import oidc_client
from web.oidc_settings import ID_TOKEN_KEY, START_PATH
from web.problems import Problem
from web.users import DISABLED_MESSAGE, SignInResult, lock_message

router = APIRouter()

FormValues = Annotated[dict[str, str], Depends(form_values)]

ENDED_NOTES = {
    "idle": "You were signed out because you had not used the form for a while."
    " Sign in again to carry on.",
    "lifetime": "You were signed out because you had been signed in for the longest time a"
    " session may last. Sign in again to carry on.",
}


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of this site only."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/waiting"


def _ways_in(request: Request, target: str) -> dict[str, Any]:
    """What the sign-in page offers: single sign-on when configured, local passwords unless
    hidden."""
    client = oidc_client(request)
    if client is None:
        return {"sso": None, "sso_url": "", "local_signin": True}
    return {
        "sso": client.settings,
        "sso_url": f"{START_PATH}?next={quote(target, safe='/')}",
        "local_signin": not client.settings.hide_local_signin,
    }


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "/waiting") -> Response:
    if request.state.user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    ended = request.state.session.pop(SIGNED_OUT, None)
    return render(
        request,
        "sign_in.html",
        next=safe_next(next),
        ended_note=ENDED_NOTES.get(ended, "") if isinstance(ended, str) else "",
        values={},
        errors={},
        **_ways_in(request, safe_next(next)),
    )


@router.post("/sign-in")
async def sign_in_post(request: Request, values: FormValues) -> Response:
    web = services(request)
    target = safe_next(values.get("next"))
    if web.settings.trust_proxy_headers:
        raise Problem(400, "Sign in through your organisation", "This form uses single sign-on.")
    if not _ways_in(request, target)["local_signin"]:
        raise Problem(
            400, "Sign in through your organisation", "This form uses single sign-on only."
        )
    name = values.get("user", "").strip().lower()
    password = values.get("password", "")
    errors: dict[str, str] = {}
    if not name:
        errors["user"] = "Enter your sign-in id"
    if not password:
        errors["password"] = "Enter your password"
    status = 400
    if not errors:
        where = address(request)
        outcome = await web.accounts.run(lambda a: a.sign_in(name, password, where))
        keys = (f"user:{name}", f"ip:{where}")
        if outcome.result is SignInResult.SIGNED_IN:
            assert outcome.person is not None and outcome.session is not None
            assert outcome.session_id is not None
            web.throttle.succeeded(keys[0])
            web.sessions.signed_in(
                request, outcome.session_id, outcome.session.id_hash, outcome.person
            )
            if outcome.person.password_must_change:  # a temporary password: nothing else first
                request.state.session[password_pages.MUST_CHANGE] = True
                return RedirectResponse(password_pages.PATH, status_code=303)
            return RedirectResponse(target, status_code=303)
        if outcome.result is SignInResult.WRONG:
            await web.throttle.wait_after_failure(*keys)
            errors["user"] = "The sign-in id or password is not right"
        elif outcome.result is SignInResult.LOCKED:
            assert outcome.lock is not None
            await web.throttle.wait_after_failure(*keys)
            errors["user"] = lock_message(outcome.lock)
            status = 429
        else:
            errors["user"] = DISABLED_MESSAGE
            status = 403
    return render(
        request,
        "sign_in.html",
        status,
        next=target,
        ended_note="",
        values={"user": name},
        errors=errors,
        **_ways_in(request, target),
    )


@router.post("/sign-out")
async def sign_out(request: Request, _: FormValues) -> Response:
    web = services(request)
    person = request.state.user
    id_hash = request.state.auth.id_hash
    id_token = request.state.session.get(ID_TOKEN_KEY)
    if person is not None and id_hash is not None:
        where = address(request)
        await web.accounts.run(lambda a: a.sign_out(person, id_hash, where))
    web.sessions.signed_out(request)
    client = oidc_client(request)
    if client is not None and isinstance(id_token, str) and person is not None:
        # RP-initiated logout: signed out here already; now at the provider too.
        end_session = await client.end_session_url(id_token)
        if end_session is not None:
            return RedirectResponse(end_session, status_code=303)
    return RedirectResponse("/sign-in", status_code=303)
