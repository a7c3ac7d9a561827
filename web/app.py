"""The managers' web form: sign in, see the cases waiting for you, decide, read the timeline.

A thin face: it parses and validates what was typed, checks the signed-in user may take the
decision now (the path's own ``available``) and forwards it as a validated update; the
workflow's rules accept it or give their reason. Nothing typed is ever logged or put in a URL,
except the case list's own search (a case reference, a stage, a procedure, a month: references,
never names); the decider always comes from the session.

This module puts the app together: what the pages share (:class:`web.dependencies.Services`,
on ``app.state.web``, the case record among them), sessions and security headers, the error
pages, and the routers: :mod:`web.signin` and :mod:`web.oidc` (single sign-on),
:mod:`web.lists`, :mod:`web.case_pages`; the probes (:mod:`web.health`) and the request metrics (:mod:`web.metrics`, served on a bind of
their own by ``icpc web --metrics-bind``); traces when OTEL_* asks (``runtime.tracing``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from procedures import load_all
from runtime.tracing import instrument_web_app
from web import (
    accounts,
    api,
    audit_pages,
    case_pages,
    codec,
    health,
    lists,
    oidc,
    password_pages,
    procedure_pages,
    report_pages,
    signin,
)
from web.auth import SessionKeeper, SignInThrottle
from web.dependencies import ClientFactory, ClientHolder, Services, render, services
from web.metrics import MetricsMiddleware, WebMetrics
from web.oidc_provider import client_for
from web.problems import Problem, SignInNeeded
from web.record_access import RecordHolder
from web.rendering import SERVICE_NAME, Renderer
from web.settings import Settings
from web.transport import TransportSecurity
from web.users import Accounts, known_roles

HERE = Path(__file__).parent

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none';"
        # The procedure pages' diagram: bpmn-js from /static, and the BPMN it fetches.
        " script-src 'self'; connect-src 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings, client_factory: ClientFactory) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title=SERVICE_NAME)
    procedures = load_all()
    people = Accounts(
        settings.people_url,
        roles=known_roles(role.id for p in procedures.values() for role in p.roles),
        lifetime=timedelta(hours=settings.session_hours),
        idle=timedelta(minutes=settings.session_minutes),
        limits=settings.signin_limits,
    )
    app.state.web = Services(
        settings=settings,
        renderer=Renderer(procedures, proxy_mode=settings.trust_proxy_headers),
        sessions=SessionKeeper(settings, people),
        throttle=SignInThrottle(base=settings.signin_delay),
        accounts=people,
        clients=ClientHolder(client_factory),
        procedures=procedures,
        records=RecordHolder(settings.record_url),
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # The JSON API (web.api), with its own OpenAPI document and JSON errors.
    app.mount(api.PREFIX, api.create_api(app))
    app.add_middleware(SessionsAndHeaders)
    # Outermost: counts every answer, the error pages and redirects included.
    app.state.metrics = WebMetrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_exception_handler(SignInNeeded, to_sign_in)  # type: ignore[arg-type]
    app.add_exception_handler(Problem, problem_page)  # type: ignore[arg-type]
    app.add_exception_handler(404, not_found)
    app.include_router(health.router)
    app.include_router(signin.router)
    app.include_router(password_pages.router)  # /change-password, first after a temporary one
    # Single sign-on with OpenID Connect, when ICPC_OIDC_ISSUER is set (web.oidc).
    app.state.oidc = client_for(settings.oidc)
    app.include_router(oidc.router)
    app.include_router(lists.router)
    app.include_router(case_pages.router)
    app.include_router(procedure_pages.router)  # /procedures: each as a diagram and in words
    app.include_router(accounts.router)
    app.include_router(audit_pages.router)  # /admin/audit, for the admin role
    report_pages.install(app)  # /reports and its CSV downloads, for managers
    # /codec/decode for support staff's Temporal Web UI; its key and the UI's origins.
    app.state.codec = codec.service_from_environment()
    app.include_router(codec.router)
    # Around the rest: over HTTPS (or a trusted proxy's X-Forwarded-Proto), HSTS and Secure
    # cookies, on every answer.
    app.add_middleware(TransportSecurity, trusted_proxy=settings.trusted_proxy)
    # Traces (off unless OTEL_* asks): each request a span, the parent of its Temporal calls.
    instrument_web_app(app)
    return app


class SessionsAndHeaders:
    """The session and its person, loaded from the database on every request, what changed in
    it kept, and the headers every page carries.

    Plain ASGI: Starlette's ``BaseHTTPMiddleware`` ran each endpoint in a task of its own and
    passed the request and response bodies through streams, which cost several milliseconds a
    request on a busy machine (``benchmarks/web_decision.py``). What changed in the session is
    kept as the page's response starts, before anything of it is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        path = request.url.path
        if path in health.PATHS or path.startswith("/static/"):
            # Probes and static files: no session read, no cookie set; probes never cached.
            await self.app(scope, receive, _with_headers(send, no_store=path in health.PATHS))
            return
        web = services(request)
        try:
            await web.sessions.open(request)
        except Problem as problem:  # the accounts' database cannot be used: a plain 503 page
            await _problem(request, problem, send)
            return
        replaced = False  # the page gave way to a problem page: nothing more of it is sent

        async def send_kept(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                cookies = Response()  # collects the cookies that keeping the session sets
                try:
                    await web.sessions.close(request, cookies)
                except Problem as problem:
                    replaced = True
                    await _problem(request, problem, send)
                    return
                headers = MutableHeaders(scope=message)
                for name, value in cookies.raw_headers:
                    if name == b"set-cookie":
                        headers.append("set-cookie", value.decode("latin-1"))
                _page_headers(request, headers)
            await send(message)

        if (
            password_pages.change_due(request)
            and path not in password_pages.OPEN_PATHS
            and not path.startswith(api.PREFIX)  # the API refuses that session itself
        ):
            # Signed in with a temporary password: nothing else until they choose their own.
            moved = RedirectResponse(password_pages.PATH, status_code=303)
            await moved(scope, receive, send_kept)
            return
        await self.app(scope, receive, send_kept)


def _page_headers(request: Request, headers: MutableHeaders) -> None:
    headers.update(SECURITY_HEADERS)
    sso = oidc.oidc_client(request)
    if sso is not None:  # the sign-out button's form leads on to the provider's logout
        sources = " ".join(["form-action 'self'", *sso.form_action_sources()])
        policy = SECURITY_HEADERS["Content-Security-Policy"]
        headers["Content-Security-Policy"] = policy.replace("form-action 'self'", sources)
    headers["Cache-Control"] = "no-store"


async def _problem(request: Request, problem: Problem, send: Send) -> None:
    request.state.user = None
    response = await problem_page(request, problem)
    _page_headers(request, response.headers)
    await response(request.scope, request.receive, send)


def _with_headers(send: Send, *, no_store: bool) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.update(SECURITY_HEADERS)
            if no_store:
                headers["Cache-Control"] = "no-store"
        await send(message)

    return send_with_headers


NO_FILE = "There is no such file: check the address."


async def to_sign_in(request: Request, _: SignInNeeded) -> Response:
    target = request.url.path if request.method == "GET" else "/waiting"
    return RedirectResponse(f"/sign-in?next={quote(target, safe='/')}", status_code=303)


async def problem_page(request: Request, problem: Problem) -> Response:
    return render(
        request, "problem.html", problem.status, title=problem.title, message=problem.message
    )


async def not_found(request: Request, _: Exception) -> Response:
    if request.url.path.startswith("/static/"):  # served without a session: nobody's page
        request.state.user, request.state.session = None, {}
        return render(request, "problem.html", 404, title="Page not found", message=NO_FILE)
    if request.state.user is None:
        return await to_sign_in(request, SignInNeeded())
    return render(
        request,
        "problem.html",
        404,
        title="Page not found",
        message="Check the address, or go back to the cases waiting for you.",
    )
