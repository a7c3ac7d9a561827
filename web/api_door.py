"""Who calls the JSON API (:mod:`web.api`): a person, by their token or their session; and the
shape of every refusal. Each router under the API takes its caller from here (``ApiPerson``).

- ``Authorization: Bearer <person token>`` (``icpc users token ID`` issues one; only its hash is
  kept): the command line and a case system acting as a named person. A token names one active
  person; a revoked token, or a disabled person's, is refused as unknown.
- or the pages' own session cookie, for a page's script: then a request that changes anything
  must carry the session's CSRF token in ``X-CSRF-Token``, and a session whose temporary
  password is still to be changed is refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from domain.people import Person
from web import csrf, password_pages
from web.dependencies import services
from web.problems import Problem, SignInNeeded

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BEARER = "bearer"
NOT_SIGNED_IN = "Send your person token as 'Authorization: Bearer TOKEN' (icpc users token ID)."


class ProblemDetail(BaseModel):
    """Every refusal and error of the API: the status again, a title and the plain reason."""

    status: int
    title: str
    detail: str


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != BEARER:
        return None
    return token.strip() or None


async def api_person(request: Request) -> Person:
    """The person calling: the bearer token's, else the session's (with its CSRF header on a
    change). A 401 otherwise: the API never answers anonymously."""
    token = bearer_token(request)
    if token is not None:
        web = services(request)
        person = await web.accounts.run(lambda a: a.people.person_for_token(token))
        if person is None:
            raise Problem(
                401,
                "Your token is not accepted",
                "The person token is unknown, revoked, or its person is disabled.",
            )
        request.state.user = person
        request.state.via_token = True
        return person
    user: Person | None = request.state.user
    if user is None:
        raise SignInNeeded
    if password_pages.change_due(request):
        raise Problem(403, "Change your password first", password_pages.CHANGE_FIRST)
    if request.method not in SAFE_METHODS and not csrf.valid(
        request.state.session.get("csrf"), request.headers.get(CSRF_HEADER)
    ):
        raise Problem(
            403,
            "This request has no CSRF token",
            f"Send the page's CSRF token in {CSRF_HEADER}, or use a person token instead.",
        )
    request.state.via_token = False
    return user


ApiPerson = Annotated[Person, Depends(api_person)]
