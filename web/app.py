"""The managers' web form: sign in, see the cases waiting for you, decide, read the timeline.

A thin face: it parses and validates what was typed, checks the signed-in role may take the
decision now (``domain.case_rules.available_decisions``) and forwards it as a validated update;
the workflow's case rules accept it or give their reason. Nothing typed is ever logged or put in
a URL; the decider always comes from the session.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain import plan_rules
from domain.calendar import LONDON
from domain.case_rules import DECISION_TITLES, available_decisions
from domain.case_state import CaseState, MilestoneStatus, Stage
from domain.decisions import Decider, Outcome
from domain.plan_state import PlanStage, PlanState
from domain.procedure import load_all
from domain.vocabulary import DecisionKind
from starters.case_client import list_cases, read_case, read_plan, send_decision
from web import csrf
from web.auth import SessionCodec, SignInThrottle, current_user, ensure_csrf, sign_in
from web.forms import DecisionForm, Field, form_for, parse, plan_form_for
from web.settings import Settings
from web.users import User, UserStore
from workflows import search_attributes as sa
from workflows.case_contract import CASE_WORKFLOW
from workflows.plan_contract import PLAN_WORKFLOW, plan_workflow_id

HERE = Path(__file__).parent
CASE_ID = re.compile(r"^icpc-[A-Za-z0-9_-]{1,160}$")
SERVICE_NAME = "ICPC bookings"
QUERY_TIMEOUT = 3.0  # seconds a case may take to answer for the waiting list

ClientFactory = Callable[[], Awaitable[Client]]


class _SignInNeeded(Exception):
    pass


class _Problem(Exception):
    """An error page: 403, 404, 503 ..."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(title)
        self.status, self.title, self.message = status, title, message


# --- presentation helpers ----------------------------------------------------------------------


def _datetime(at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%B %Y}, {local:%H:%M}"


def _date(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(LONDON).date()
    return f"{day:%a} {day.day} {day:%B %Y}"


def _sentence(text: str | None) -> str:
    text = text or ""
    return text[:1].upper() + text[1:]


def _words(identifier: str | None) -> str:
    text = (identifier or "").replace("_", " ")
    return text[:1].upper() + text[1:]


STAGE_TAGS: dict[str, str] = {
    PlanStage.AWAITING_MOVE_APPROVAL: "orange",
    PlanStage.REVIEW_BOOKED: "green",
    PlanStage.ENDED: "grey",
    Stage.AWAITING_DELAY_DECISION: "orange",
    Stage.AWAITING_REPEAT_OVERSIGHT: "orange",
    Stage.STOOD_DOWN: "orange",
    Stage.BOOKED: "green",
    Stage.HELD: "green",
    Stage.WITHDRAWN: "grey",
    Stage.CLOSED: "grey",
}

MILESTONE_TAGS = {
    MilestoneStatus.MET: ("Met", "green"),
    MilestoneStatus.MET_LATE: ("Met late", "orange"),
    MilestoneStatus.OVERDUE: ("Late", "red"),
    MilestoneStatus.PENDING: ("Waiting", "blue"),
    MilestoneStatus.WAITING: ("Not scheduled yet", "grey"),
}


@dataclass(frozen=True)
class DaysLeft:
    days: int | None  # working days from today to the deadline; negative once past
    past: bool

    @property
    def text(self) -> str:
        if self.days is None:
            return "Unknown"
        if self.past:
            late = max(-self.days, 0)
            if late == 0:
                return "Past deadline today"
            return f"Past deadline by {late} working day{'s' if late != 1 else ''}"
        if self.days == 0:
            return "Due today"
        return f"{self.days} working day{'s' if self.days != 1 else ''} left"


def days_left(state: CaseState | PlanState, now: datetime) -> DaysLeft | None:
    """Working days to the deadline (the ICPC's statutory limit, or the plan's next review),
    counted with the case's own calendar."""
    due = state.deadline if isinstance(state, CaseState) else state.review_due
    if due is None:
        return None
    today = now.astimezone(LONDON).date()
    day = due.astimezone(LONDON).date()
    try:
        days = state.calendar.working_days_between(today, day)
    except ValueError:  # outside the case's frozen calendar: the procedure's own calendar
        days = state.procedure.calendar.working_days_between(today, day)
    return DaysLeft(days, now > due)


def _days_left_by_procedure(
    procedure_id: str | None, deadline: datetime | None, now: datetime
) -> DaysLeft | None:
    """Days left with the procedure's calendar, for a case that did not answer its query."""
    procedure = load_all().get(procedure_id or "")
    if procedure is None or deadline is None:
        return None
    days = procedure.calendar.working_days_between(
        now.astimezone(LONDON).date(), deadline.astimezone(LONDON).date()
    )
    return DaysLeft(days, now > deadline)


def _role_title(state: CaseState | None, role: str | None) -> str:
    if not role:
        return ""
    if state is not None:
        for r in state.procedure.roles:
            if r.id == role:
                return r.title
    return _words(role)


def _sections(form: DecisionForm) -> list[tuple[str, list[Field]]]:
    sections: list[tuple[str, list[Field]]] = []
    for f in form.fields:
        if sections and sections[-1][0] == f.group:
            sections[-1][1].append(f)
        else:
            sections.append((f.group, [f]))
    return sections


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/waiting"


# --- the app -----------------------------------------------------------------------------------


def create_app(settings: Settings, client_factory: ClientFactory) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title=SERVICE_NAME)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.autoescape = True
    templates.env.filters.update(datetime=_datetime, date=_date, words=_words, sentence=_sentence)
    templates.env.globals.update(service_name=SERVICE_NAME)
    codec = SessionCodec(settings)
    throttle = SignInThrottle(base=settings.signin_delay)
    users = UserStore(settings.users_file)
    client_lock = asyncio.Lock()
    holder: dict[str, Client] = {}

    async def client() -> Client:
        if "client" not in holder:
            async with client_lock:
                if "client" not in holder:
                    try:
                        holder["client"] = await client_factory()
                    except Exception as error:
                        raise _Problem(
                            503,
                            "Sorry, the service is unavailable",
                            "The form cannot reach the case service just now. Try again later.",
                        ) from error
        return holder["client"]

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = request.state.session
        context.setdefault("user", getattr(request.state, "user", None))
        context["csrf_token"] = ensure_csrf(session)
        context["proxy_mode"] = settings.trust_proxy_headers
        return templates.TemplateResponse(request, name, context, status_code=status)

    @app.middleware("http")
    async def sessions_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        session, expired = codec.load(request)
        if expired:  # told once, on the sign-in page
            session["signed_out"] = True
        request.state.session = session
        request.state.user = current_user(request, settings, session)
        response = await call_next(request)
        codec.save(response, request.state.session)
        headers = response.headers
        headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
            " frame-ancestors 'none'; base-uri 'none'"
        )
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        if not request.url.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(_SignInNeeded)
    async def to_sign_in(request: Request, _: _SignInNeeded) -> Response:
        target = request.url.path if request.method == "GET" else "/waiting"
        return RedirectResponse(f"/sign-in?next={quote(target, safe='/')}", status_code=303)

    @app.exception_handler(_Problem)
    async def problem_page(request: Request, problem: _Problem) -> Response:
        return render(
            request, "problem.html", problem.status, title=problem.title, message=problem.message
        )

    @app.exception_handler(404)
    async def not_found(request: Request, _: Exception) -> Response:
        if request.state.user is None:
            return await to_sign_in(request, _SignInNeeded())
        return render(
            request,
            "problem.html",
            404,
            title="Page not found",
            message="Check the address, or go back to the cases waiting for you.",
        )

    def require_user(request: Request) -> User:
        user: User | None = request.state.user
        if user is None:
            raise _SignInNeeded
        return user

    async def form_values(request: Request) -> dict[str, str]:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        if not csrf.valid(request.state.session.get("csrf"), values.get(csrf.FIELD)):
            raise _Problem(
                403,
                "This form has expired",
                "For your security the form could not be sent. Go back, reload the page and"
                " try again.",
            )
        return values

    async def load_case(case_id: str) -> CaseState:
        if not CASE_ID.match(case_id) or case_id.endswith("-plan"):
            raise _Problem(404, "Case not found", "There is no case at this address.")
        try:
            return await asyncio.wait_for(read_case(await client(), case_id), 10 * QUERY_TIMEOUT)
        except TimeoutError as error:
            raise _Problem(
                503, "Sorry, the case could not be read", "The case did not answer. Try again."
            ) from error
        except RPCError as error:
            if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise _Problem(404, "Case not found", "There is no case at this address.") from None
            raise _Problem(
                503, "Sorry, the case could not be read", "Try again in a moment."
            ) from error
        except WorkflowQueryFailedError as error:
            raise _Problem(
                503, "Sorry, the case could not be read", "Try again in a moment."
            ) from error

    # --- sign in and out -------------------------------------------------------------------

    @app.get("/sign-in")
    async def sign_in_page(request: Request, next: str = "/waiting") -> Response:
        if request.state.user is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return render(
            request,
            "sign_in.html",
            next=_safe_next(next),
            expired=bool(request.state.session.pop("signed_out", False)),
            values={},
            errors={},
        )

    @app.post("/sign-in")
    async def sign_in_post(request: Request) -> Response:
        values = await form_values(request)
        target = _safe_next(values.get("next"))
        if settings.trust_proxy_headers:
            raise _Problem(
                400, "Sign in through your organisation", "This form uses single sign-on."
            )
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
            account = await asyncio.to_thread(users.verify, name, password)
            if account is None:
                await throttle.wait_after_failure(*keys)
                errors["user"] = "The sign-in id or password is not right"
            else:
                throttle.succeeded(*keys)
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

    @app.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        await form_values(request)
        request.state.session.clear()
        return RedirectResponse("/sign-in", status_code=303)

    # --- lists -----------------------------------------------------------------------------

    @app.get("/")
    async def home(request: Request) -> Response:
        require_user(request)
        return RedirectResponse("/waiting", status_code=303)

    @app.get("/waiting")
    async def waiting(request: Request) -> Response:
        user = require_user(request)
        c = await client()
        query = (
            f"WorkflowType IN ('{CASE_WORKFLOW}', '{PLAN_WORKFLOW}')"
            f" AND ExecutionStatus = 'Running' AND {sa.AWAITING_ROLE.name} = '{user.role}'"
        )
        try:
            rows = [
                (w.id, w.workflow_type == PLAN_WORKFLOW, w.typed_search_attributes)
                async for w in c.list_workflows(query, limit=200)
            ]
        except RPCError as error:
            raise _Problem(503, "Sorry, the list could not be read", "Try again.") from error
        now = datetime.now(LONDON)
        limit = asyncio.Semaphore(8)

        async def state_of(workflow_id: str, is_plan: bool) -> CaseState | PlanState | None:
            read = read_plan if is_plan else read_case
            async with limit:
                try:
                    return await asyncio.wait_for(read(c, workflow_id), QUERY_TIMEOUT)
                except (RPCError, WorkflowQueryFailedError, TimeoutError):
                    return None

        states = await asyncio.gather(*(state_of(wid, plan) for wid, plan, _ in rows))
        items = []
        for (workflow_id, is_plan, attrs), state in zip(rows, states, strict=True):
            if state is not None and user.role not in state.awaiting_roles():
                continue  # visibility is a moment behind: it has moved on
            case_id = workflow_id.removesuffix("-plan") if is_plan else workflow_id
            if isinstance(state, PlanState):
                deadline: datetime | None = state.review_due
                kinds = plan_rules.available_decisions(state, user.role)
                decisions = [plan_rules.DECISION_TITLES[k] for k in kinds]
                stage: str | None = state.stage
            elif isinstance(state, CaseState):
                deadline = state.deadline
                decisions = [DECISION_TITLES[k] for k in available_decisions(state, user.role)]
                stage = state.stage
            else:  # it did not answer in time: what visibility knows
                deadline = attrs.get(sa.DEADLINE)
                decisions = []
                stage = attrs.get(sa.PLAN_STAGE) if is_plan else attrs.get(sa.STAGE)
            left = (
                days_left(state, now)
                if state is not None
                else _days_left_by_procedure(attrs.get(sa.PROCEDURE), deadline, now)
            )
            items.append(
                {
                    "url": f"/cases/{case_id}/plan" if is_plan else f"/cases/{case_id}",
                    "reference": attrs.get(sa.CASE_REFERENCE) or case_id,
                    "what": "Child protection plan" if is_plan else "ICPC",
                    "stage": stage,
                    "deadline": deadline,
                    "days_left": left,
                    "decisions": decisions,
                }
            )
        far = datetime.max.replace(tzinfo=LONDON)
        items.sort(key=lambda i: i["deadline"] or far)
        return render(request, "waiting.html", items=items, stage_tags=STAGE_TAGS)

    @app.get("/cases")
    async def all_cases(request: Request) -> Response:
        require_user(request)
        query = f"WorkflowType = '{CASE_WORKFLOW}' AND ExecutionStatus = 'Running'"
        try:
            rows = await list_cases(await client(), query)
        except RPCError as error:
            raise _Problem(503, "Sorry, the list could not be read", "Try again.") from error
        far = datetime.max.replace(tzinfo=LONDON)
        rows.sort(key=lambda r: r.deadline or far)
        now = datetime.now(LONDON)
        return render(request, "cases.html", rows=rows, now=now, stage_tags=STAGE_TAGS)

    # --- one case --------------------------------------------------------------------------

    def case_context(state: CaseState, user: User) -> dict[str, Any]:
        now = datetime.now(LONDON)
        return {
            "state": state,
            "now": now,
            "days_left": days_left(state, now),
            "stage_tags": STAGE_TAGS,
            "milestones": [
                (m, *MILESTONE_TAGS[m.status(now)], _role_title(state, m.planned.responsible))
                for m in state.milestones
            ],
            "awaiting": [_role_title(state, r) for r in state.awaiting_roles()],
            "role_title": lambda role: _role_title(state, role),
            "available": [(k.value, t) for k, t in offered(state, user.role)],
            "role_here": _role_title(state, user.role),
            "has_plan": state.held_at is not None
            and state.outcome == Outcome.CHILD_PROTECTION_PLAN,
        }

    @app.get("/cases/{case_id}")
    async def case_page(request: Request, case_id: str) -> Response:
        user = require_user(request)
        state = await load_case(case_id)
        flash = request.state.session.pop("flash", None)
        return render(request, "case.html", flash=flash, **case_context(state, user))

    def decision_kind(kind: str) -> DecisionKind:
        try:
            return DecisionKind(kind)
        except ValueError:
            raise _Problem(404, "Page not found", "There is no such decision.") from None

    def offered(state: CaseState | PlanState, role: str) -> list[tuple[DecisionKind, str]]:
        """The decisions ``role`` may take now, by the case rules or the plan rules."""
        if isinstance(state, PlanState):
            kinds = plan_rules.available_decisions(state, role)
            return [(k, plan_rules.DECISION_TITLES[k]) for k in kinds]
        return [(k, DECISION_TITLES[k]) for k in available_decisions(state, role)]

    def may_take(
        state: CaseState | PlanState, user: User, kind: DecisionKind
    ) -> tuple[DecisionForm, str]:
        titles = dict(offered(state, user.role))
        if kind not in titles:
            plan = isinstance(state, PlanState)
            case = state.case if isinstance(state, PlanState) else state
            title = (plan_rules.DECISION_TITLES if plan else DECISION_TITLES).get(
                kind, "take this decision"
            )
            raise _Problem(
                403,
                "You cannot take this decision",
                f"As {_role_title(case, user.role).lower()} you cannot {title} on this"
                f" {'plan' if plan else 'case'} now.",
            )
        if isinstance(state, PlanState):
            return plan_form_for(kind, state), titles[kind]
        return form_for(kind, state), titles[kind]

    def decision_page(
        request: Request,
        state: CaseState | PlanState,
        form: DecisionForm,
        status: int = 200,
        values: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        refusal: str = "",
    ) -> HTMLResponse:
        defaults = {f.name: f.default for f in form.fields}
        case = state.case if isinstance(state, PlanState) else state
        back = f"/cases/{case.case_id}" + ("/plan" if isinstance(state, PlanState) else "")
        return render(
            request,
            "decision.html",
            status,
            case=case,
            back=back,
            back_text=(
                f"Back to the plan for case {case.start.case_reference}"
                if isinstance(state, PlanState)
                else f"Back to case {case.start.case_reference}"
            ),
            action=f"{back}/decisions/{form.kind.value}",
            form=form,
            sections=_sections(form),
            values={**defaults, **(values or {})},
            errors=dict(errors or {}),
            refusal=refusal,
            first_field_id={f.name: f.first_id for f in form.fields},
        )

    async def load(case_id: str, plan: bool) -> CaseState | PlanState:
        return await load_plan(case_id) if plan else await load_case(case_id)

    async def show_form(request: Request, case_id: str, kind: str, plan: bool) -> Response:
        user = require_user(request)
        wanted = decision_kind(kind)
        state = await load(case_id, plan)
        return decision_page(request, state, may_take(state, user, wanted)[0])

    async def take(request: Request, case_id: str, kind: str, plan: bool) -> Response:
        user = require_user(request)
        values = await form_values(request)
        wanted = decision_kind(kind)
        state = await load(case_id, plan)
        form, title = may_take(state, user, wanted)
        parsed = parse(form, values, Decider(user=user.user, role=user.role))
        if parsed.decision is None:
            return decision_page(request, state, form, 400, parsed.values, parsed.errors)
        workflow_id = plan_workflow_id(case_id) if plan else case_id
        try:
            outcome = await send_decision(await client(), workflow_id, parsed.decision)
        except RPCError:
            return decision_page(
                request,
                state,
                form,
                503,
                parsed.values,
                refusal="The case service did not answer. The decision may not have been"
                " recorded: check the decisions so far before trying again.",
            )
        if not outcome.accepted:
            return decision_page(request, state, form, 409, parsed.values, refusal=outcome.message)
        request.state.session["flash"] = {"title": title, "summary": outcome.message}
        return RedirectResponse(
            f"/cases/{case_id}/plan" if plan else f"/cases/{case_id}", status_code=303
        )

    @app.get("/cases/{case_id}/decisions/{kind}")
    async def case_decision_form(request: Request, case_id: str, kind: str) -> Response:
        return await show_form(request, case_id, kind, plan=False)

    @app.post("/cases/{case_id}/decisions/{kind}")
    async def case_decide(request: Request, case_id: str, kind: str) -> Response:
        return await take(request, case_id, kind, plan=False)

    # --- the child protection plan after the ICPC --------------------------------------------

    async def load_plan(case_id: str) -> PlanState:
        if not CASE_ID.match(case_id) or case_id.endswith("-plan"):
            raise _Problem(404, "Plan not found", "There is no plan at this address.")
        try:
            return await asyncio.wait_for(
                read_plan(await client(), plan_workflow_id(case_id)), 10 * QUERY_TIMEOUT
            )
        except RPCError as error:
            if error.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
                raise _Problem(
                    404, "Plan not found", "This case has no child protection plan."
                ) from None
            raise _Problem(503, "Sorry, the plan could not be read", "Try again.") from error
        except (TimeoutError, WorkflowQueryFailedError) as error:
            raise _Problem(503, "Sorry, the plan could not be read", "Try again.") from error

    @app.get("/cases/{case_id}/plan")
    async def plan_page(request: Request, case_id: str) -> Response:
        user = require_user(request)
        plan = await load_plan(case_id)
        now = datetime.now(LONDON)
        flash = request.state.session.pop("flash", None)
        return render(
            request,
            "plan.html",
            flash=flash,
            plan=plan,
            case=plan.case,
            days_left=days_left(plan, now),
            stage_tags=STAGE_TAGS,
            milestones=[
                (m, *MILESTONE_TAGS[m.status(now)], _role_title(plan.case, m.planned.responsible))
                for m in plan.milestones
            ],
            awaiting=[_role_title(plan.case, r) for r in plan.awaiting_roles()],
            missing=[_role_title(plan.case, r) for r in plan.move.missing_roles()]
            if plan.move
            else [],
            role_title=lambda role: _role_title(plan.case, role),
            available=[(k.value, t) for k, t in offered(plan, user.role)],
            role_here=_role_title(plan.case, user.role),
        )

    @app.get("/cases/{case_id}/plan/decisions/{kind}")
    async def plan_decision_form(request: Request, case_id: str, kind: str) -> Response:
        return await show_form(request, case_id, kind, plan=True)

    @app.post("/cases/{case_id}/plan/decisions/{kind}")
    async def plan_decide(request: Request, case_id: str, kind: str) -> Response:
        return await take(request, case_id, kind, plan=True)

    return app
