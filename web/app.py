"""The managers' web form: sign in, see the cases waiting for you, decide, read the timeline.

A thin face: it parses and validates what was typed, checks the signed-in user may take the
decision now (the path's own ``available``) and forwards it as a validated update; the
workflow's rules accept it or give their reason. Nothing typed is ever logged or put in a URL,
except the case list's own search (a case reference, a stage, a procedure, a month: references,
never names); the decider always comes from the session.

This module puts the app together: what the pages share (:class:`web.dependencies.Services`,
on ``app.state.web``, the case record among them), sessions and security headers, the error
pages, and the routers: :mod:`web.signin`, :mod:`web.lists`, :mod:`web.case_pages`; the
probes (:mod:`web.health`) and the request metrics (:mod:`web.metrics`, served on a bind of
their own by ``icpc web --metrics-bind``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from procedures import load_all
from web import case_pages, health, lists, signin
from web.auth import SessionCodec, SignInThrottle, current_user
from web.dependencies import ClientFactory, ClientHolder, Services, render, services
from web.metrics import MetricsMiddleware, WebMetrics
from web.problems import Problem, SignInNeeded
from web.record_access import RecordHolder
from web.rendering import SERVICE_NAME, Renderer
from web.settings import Settings
from web.users import UserStore

HERE = Path(__file__).parent

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings, client_factory: ClientFactory) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title=SERVICE_NAME)
    procedures = load_all()
    app.state.web = Services(
        settings=settings,
        renderer=Renderer(procedures, proxy_mode=settings.trust_proxy_headers),
        sessions=SessionCodec(settings),
        throttle=SignInThrottle(base=settings.signin_delay),
        users=UserStore(settings.users_file),
        clients=ClientHolder(client_factory),
        procedures=procedures,
        records=RecordHolder(settings.record_url),
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.middleware("http")(sessions_and_headers)
    # Outermost: counts every answer, the error pages and redirects included.
    app.state.metrics = WebMetrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_exception_handler(SignInNeeded, to_sign_in)  # type: ignore[arg-type]
    app.add_exception_handler(Problem, problem_page)  # type: ignore[arg-type]
    app.add_exception_handler(404, not_found)
    app.include_router(health.router)
    app.include_router(signin.router)
    app.include_router(lists.router)
    app.include_router(case_pages.router)
    return app


async def sessions_and_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """The signed session in and out of its cookie, the user it names, and the headers every
    page carries."""
    if request.url.path in health.PATHS:  # probes: no session read, no cookie set
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store"
        return response
    web = services(request)
    session, expired = web.sessions.load(request)
    if expired:  # told once, on the sign-in page
        session["signed_out"] = True
    request.state.session = session
    request.state.user = current_user(request, web.settings, session)
    response = await call_next(request)
    web.sessions.save(response, request.state.session)
    response.headers.update(SECURITY_HEADERS)
    if not request.url.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


async def to_sign_in(request: Request, _: SignInNeeded) -> Response:
    target = request.url.path if request.method == "GET" else "/waiting"
    return RedirectResponse(f"/sign-in?next={quote(target, safe='/')}", status_code=303)


async def problem_page(request: Request, problem: Problem) -> Response:
    return render(
        request, "problem.html", problem.status, title=problem.title, message=problem.message
    )


async def not_found(request: Request, _: Exception) -> Response:
    if request.state.user is None:
        return await to_sign_in(request, SignInNeeded())
    return render(
        request,
        "problem.html",
        404,
        title="Page not found",
        message="Check the address, or go back to the cases waiting for you.",
    )
