"""The service's JSON API, ``/api/v1``: the one door, beside the pages, for the command line and
for a council's case system (Mosaic, LCS, Eclipse) feeding strategy discussions in.

A sub-application of its own, so that its OpenAPI document (``/api/v1/openapi.json``) lists
only the API, and its errors are JSON (``{"status", "title", "detail"}``, the shape of RFC 9457
problem details) where the pages' are HTML. It shares the pages' state (``app.state``): the same
people, sessions, Temporal client, case record and audit trail, and the routers under it call the
same scoping, permission and audit code the pages do.

Who calls is a person, never a service account (:mod:`web.api_door`: a person token as a
bearer token, or the session). The routers are one file each: :mod:`web.api_me`,
:mod:`web.api_cases`, :mod:`web.api_people`, :mod:`web.api_reports`, :mod:`web.api_audit`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from web import api_audit, api_cases, api_me, api_people, api_reports
from web.api_door import NOT_SIGNED_IN, ProblemDetail
from web.problems import Problem, SignInNeeded
from web.rendering import SERVICE_NAME

PREFIX = "/api/v1"


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
