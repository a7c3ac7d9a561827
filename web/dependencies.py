"""What the routers share, kept on ``app.state.web``, and the FastAPI dependencies that give
it to them: the signed-in person, the Temporal client, the CSRF-checked form, the error pages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from temporalio.client import Client

from domain.people import ADMIN, Person
from domain.procedure import Procedure
from web import csrf
from web.auth import SessionKeeper, SignInThrottle
from web.problems import Problem, SignInNeeded
from web.rendering import Renderer
from web.settings import Settings
from web.users import Accounts

if TYPE_CHECKING:
    from web.record_access import RecordHolder

ClientFactory = Callable[[], Awaitable[Client]]


class ClientHolder:
    """One Temporal client for the app, connected on first use (and again after a failure)."""

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await self._factory()
                    except Exception as error:
                        raise Problem(
                            503,
                            "Sorry, the service is unavailable",
                            "The form cannot reach the case service just now. Try again later.",
                        ) from error
        return self._client


@dataclass
class Services:
    """Everything the pages share, made once at app creation."""

    settings: Settings
    renderer: Renderer
    sessions: SessionKeeper  # each request's session and person, from the database
    throttle: SignInThrottle
    accounts: Accounts  # people, sessions, the sign-in guard, the audit trail
    clients: ClientHolder
    procedures: Mapping[str, Procedure]  # the installed procedures, loaded once
    records: RecordHolder  # the case record: lists, timelines, cases Temporal has deleted


def services(request: Request) -> Services:
    found: Services = request.app.state.web
    return found


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return services(request).renderer.page(request, name, status, **context)


def address(request: Request) -> str:
    """The client's address, as the sign-in guard and the audit trail record it."""
    found: str = request.state.auth.address
    return found


# --- dependencies -----------------------------------------------------------------------------


def require_user(request: Request) -> Person:
    user: Person | None = request.state.user
    if user is None:
        raise SignInNeeded
    return user


async def signed_in_user(request: Request) -> Person:
    """:func:`require_user` as a dependency that runs on the event loop: FastAPI hands a plain
    function dependency to a worker thread on every request, a hop that costs more than the
    check itself."""
    return require_user(request)


def require_admin(request: Request) -> Person:
    user = require_user(request)
    if not user.holds(ADMIN):
        raise Problem(
            403,
            "You cannot manage accounts",
            "Only an account administrator can see or change accounts.",
        )
    return user


async def temporal(request: Request) -> Client:
    return await services(request).clients.get()


async def form_values(request: Request) -> dict[str, str]:
    """The posted form, once its CSRF token is checked against the session's."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf.valid(request.state.session.get("csrf"), values.get(csrf.FIELD)):
        raise Problem(
            403,
            "This form has expired",
            "For your security the form could not be sent. Go back, reload the page and try again.",
        )
    return values


async def form_lists(request: Request) -> dict[str, list[str]]:
    """Every value of each posted field (checkboxes), after :func:`form_values` checked it."""
    form = await request.form()
    found: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            found.setdefault(key, []).append(value)
    return found
