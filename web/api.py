"""The service's JSON API, ``/api/v1``: the one door, beside the pages, for the command line and
for a council's case system (Mosaic, LCS, Eclipse) feeding strategy discussions in.

A sub-application of its own, so that its OpenAPI document (``/api/v1/openapi.json``) lists
only the API, and its errors are JSON (``{"status", "title", "detail"}``, the shape of RFC 9457
problem details) where the pages' are HTML. It shares the pages' state (``app.state``): the same
people, sessions, Temporal client, case record and audit trail, and the routers under it call the
same scoping, permission and audit code the pages do.

Who calls is a person, never a service account:

- ``Authorization: Bearer <person token>`` (``icpc users token ID`` issues one; only its hash is
  kept): the command line and a case system acting as a named person. A token names one active
  person; a revoked token, or a disabled person's, is refused as unknown.
- or the pages' own session cookie, for a page's script: then a request that changes anything
  must carry the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from domain.people import Person
from web import csrf, password_pages
from web.dependencies import services
from web.problems import Problem, SignInNeeded
from web.rendering import SERVICE_NAME

PREFIX = "/api/v1"
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


def problem_json(problem: Problem) -> JSONResponse:
    body = ProblemDetail(status=problem.status, title=problem.title, detail=problem.message)
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    return JSONResponse(
        body.model_dump(),
        status_code=problem.status,
        headers=headers,
        media_type="application/problem+json",
    )


async def _problem(_: Request, problem: Problem) -> Response:
    return problem_json(problem)


async def _not_signed_in(_: Request, __: SignInNeeded) -> Response:
    return problem_json(Problem(401, "Sign in first", NOT_SIGNED_IN))


async def _not_found(_: Request, __: Exception) -> Response:
    return problem_json(Problem(404, "Not found", "There is nothing at this address."))


async def _invalid(_: Request, error: RequestValidationError) -> Response:
    """A body or query the API cannot read: which field, and why, in one line each."""
    reasons = []
    for found in error.errors():
        where = ".".join(str(part) for part in found.get("loc", ()) if part != "body")
        reasons.append(f"{where}: {found.get('msg', 'not valid')}" if where else found["msg"])
    return problem_json(Problem(422, "The request is not complete", "; ".join(reasons)))


def create_api(parent: FastAPI) -> FastAPI:
    """The API under :data:`PREFIX`, sharing ``parent``'s state; mount it at ``PREFIX``."""
    from web import api_audit, api_cases, api_me, api_people, api_reports

    api = FastAPI(
        title=f"{SERVICE_NAME}: API",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        responses={
            401: {"model": ProblemDetail, "description": "No token, or one not accepted"},
            403: {"model": ProblemDetail, "description": "Refused, with the reason"},
        },
    )
    api.state = parent.state  # the same people, sessions, clients and record as the pages
    api.add_exception_handler(Problem, _problem)  # type: ignore[arg-type]
    api.add_exception_handler(SignInNeeded, _not_signed_in)  # type: ignore[arg-type]
    api.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    api.add_exception_handler(404, _not_found)
    api.include_router(api_me.router)
    api.include_router(api_people.router)
    api.include_router(api_cases.router)
    api.include_router(api_reports.router)
    api.include_router(api_audit.router)
    return api
