"""Single sign-on with OpenID Connect: the Authorization Code flow with PKCE, for Microsoft
Entra ID or any provider that publishes its discovery document.

1. ``GET /sign-in/oidc`` makes a fresh ``state``, ``nonce`` and PKCE code verifier, keeps them
   (and where to go afterwards) in the signed pre-sign-in cookie (:class:`web.auth.SignInCookie`),
   and sends the browser to the provider's authorization endpoint with the S256 code
   challenge.
2. ``GET /sign-in/oidc/callback`` takes the flow out of that cookie (so a callback works once),
   checks ``state`` against it, exchanges the code at the token endpoint with the verifier and
   the client's secret, and validates the ID token: its signature with the provider's published
   keys (an asymmetric algorithm the provider advertises; never ``none`` nor a shared secret),
   ``iss`` (the discovered issuer, exactly), ``aud`` (this client) and ``azp``, ``exp`` and
   ``iat`` (a minute's leeway), ``nonce`` (the flow's) and ``at_hash``.
3. The person is the one linked to the token's issuer and subject; on a first sign-in, the one
   whose sign-in id (or email) equals a configured claim, who is then linked. A person the
   product does not know, or a disabled one, is refused with a plain page; so is a person
   already linked to another identity. Every outcome is audited.
4. Their roles, teams and areas are the people table's (the default: an administrator controls
   access), or, with ``ICPC_OIDC_ACCESS=claims``, the token's, checked against the known role
   ids and the unit id format and written to the people table (audited) so every process sees
   them.
5. The session is the same server-side session a password sign-in starts
   (:meth:`records.sessions.SessionStore.start`, :meth:`web.auth.SessionKeeper.signed_in`); it
   also keeps the ID token, for the ``id_token_hint`` of RP-initiated logout at sign-out
   (:meth:`OidcClient.end_session_url`).

Settings: :mod:`web.oidc_settings`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from records.audit import Action, AuditEntry, Channel, Outcome
from web.dependencies import address, render, services
from web.oidc_people import Refused, SignOn, SignOnPeople
from web.oidc_provider import OidcClient
from web.oidc_settings import (
    CALLBACK_PATH,
    ERROR_CODE,
    FLOW_KEY,
    FLOW_SECONDS,
    ID_TOKEN_KEY,
    START_PATH,
)
from web.oidc_tokens import SignOnFailed
from web.problems import Problem
from web.users import DISABLED_MESSAGE

log = logging.getLogger(__name__)


def oidc_client(request: Request) -> OidcClient | None:
    found: OidcClient | None = getattr(request.app.state, "oidc", None)
    return found


# --- the pages ------------------------------------------------------------------------------------

router = APIRouter()


def _safe_next(target: object) -> str:
    if (
        isinstance(target, str)
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return "/waiting"


def refusal_page(request: Request, status: int, title: str, message: str) -> Response:
    client = oidc_client(request)
    return render(
        request,
        "sign_in_refused.html",
        status,
        title=title,
        message=message,
        organisation=client.settings.organisation if client else "your organisation",
    )


def _unavailable(request: Request, failure: SignOnFailed) -> Response:
    log.warning("single sign-on unavailable: %s", failure)
    client = oidc_client(request)
    organisation = client.settings.organisation if client else "your organisation"
    return refusal_page(
        request,
        503,
        "Sorry, single sign-on is unavailable",
        f"The form cannot reach {organisation}'s sign-in service just now. Try again later.",
    )


@router.get(START_PATH)
async def start(request: Request, next: str = "/waiting") -> Response:
    client = oidc_client(request)
    if client is None:
        raise Problem(404, "Page not found", "This form does not use single sign-on.")
    target = _safe_next(next)
    if request.state.user is not None:
        return RedirectResponse(target, status_code=303)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    verifier += secrets.token_urlsafe(16)  # 64 characters: RFC 7636 asks for 43 to 128
    try:
        url = await client.authorization_url(state, nonce, verifier)
    except SignOnFailed as failure:
        return _unavailable(request, failure)
    request.state.session[FLOW_KEY] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": target,
        "at": int(time.time()),
    }
    return RedirectResponse(url, status_code=303)


async def _failed(request: Request, detail: str) -> Response:
    entry = AuditEntry(
        Action.SIGN_IN_FAILED,
        Outcome.REFUSED,
        Channel.WEB,
        address=address(request),
        detail=f"single sign-on: {detail}",
    )
    await services(request).accounts.run(lambda a: a.audit(entry))
    return refusal_page(
        request,
        400,
        "Signing in did not complete",
        "Your sign-in could not be checked, so you are not signed in. Start again from the"
        " sign-in page.",
    )


@router.get(CALLBACK_PATH)
async def callback(request: Request) -> Response:
    client = oidc_client(request)
    if client is None:
        raise Problem(404, "Page not found", "This form does not use single sign-on.")
    web = services(request)
    flow = request.state.session.pop(FLOW_KEY, None)  # used once, whatever happens
    if request.state.user is not None:
        return RedirectResponse("/waiting", status_code=303)
    params = request.query_params
    error = params.get("error")
    if error is not None:
        code = error if ERROR_CODE.match(error) else "an error"
        return await _failed(request, f"the provider answered {code}")
    if (
        not isinstance(flow, dict)
        or not all(isinstance(flow.get(k), str) for k in ("state", "nonce", "verifier", "next"))
        or not isinstance(flow.get("at"), int)
    ):
        return await _failed(request, "no sign-in was under way in this browser")
    if time.time() - flow["at"] > FLOW_SECONDS:
        return await _failed(request, "the sign-in took too long")
    if not hmac.compare_digest(params.get("state", ""), flow["state"]):
        return await _failed(request, "the state did not match")
    code = params.get("code", "")
    if not code or len(code) > 4096:
        return await _failed(request, "no authorization code")
    try:
        answer = await client.exchange(code, flow["verifier"])
        claims = await client.claims(answer, flow["nonce"])
    except SignOnFailed as failure:
        log.warning("single sign-on refused: %s", failure)
        return await _failed(request, str(failure))
    where = address(request)
    settings = client.settings
    outcome = await web.accounts.run(lambda a: SignOnPeople(a, settings, where).sign_on(claims))
    if outcome.person is None:
        return _refused(request, outcome)
    assert outcome.session is not None and outcome.session_id is not None
    web.sessions.signed_in(request, outcome.session_id, outcome.session.id_hash, outcome.person)
    request.state.session[ID_TOKEN_KEY] = answer["id_token"]
    return RedirectResponse(flow["next"], status_code=303)


def _refused(request: Request, outcome: SignOn) -> Response:
    client = oidc_client(request)
    organisation = client.settings.organisation if client else "your organisation"
    who = f" as {outcome.named}" if outcome.named else ""
    if outcome.refused is Refused.DISABLED:
        return refusal_page(request, 403, "Your account is disabled", DISABLED_MESSAGE)
    if outcome.refused is Refused.NO_ROLE:
        return refusal_page(
            request,
            403,
            "You have no role in this form",
            f"You signed in to {organisation}{who}, but {organisation} gives you no role this"
            " form knows. Ask your IT service desk or the person who looks after this service.",
        )
    if outcome.refused is Refused.LINKED_ELSEWHERE:
        return refusal_page(
            request,
            403,
            "This account is linked to someone else",
            f"You signed in to {organisation}{who}, but the account for that name is linked to"
            " another sign-on identity. Ask the person who looks after this service.",
        )
    return refusal_page(
        request,
        403,
        "You do not have an account for this form",
        f"You signed in to {organisation}{who}, but this form has no account for you. Ask the"
        " person who looks after this service to add one.",
    )
