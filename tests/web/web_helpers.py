"""Shared pieces for the web form tests: invented accounts, a running case, form helpers.

Every name and reference here is invented.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import re
import shutil
import tempfile
import threading
import time as clock
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.case import TASK_QUEUE
from contracts.client import read_case, start_case
from domain.calendar import LONDON, london_instant
from domain.case_record import CaseSummary, RecordBatch, Stream
from domain.case_state import CaseState
from domain.decisions import Contact
from records.database import make_engine, upgrade
from records.people import PeopleStore
from records.store import RecordStore
from tests.case_helpers import case_start, contacts_for, procedure, recent_working_day, unique
from web.settings import Settings
from workers.main import build_worker

PROCEDURE = "bct-management-note"
PASSWORD = "correct horse battery"
# sign-in id -> role (bct-management-note: a team manager requests, an area head approves)
ACCOUNTS = {
    "sol.worker": "social_worker",
    "tess.manager": "team_manager",
    "hal.head": "area_head_of_service",
    "cora.cpservice": "cp_conference_service",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


People = tuple[tuple[str, str, str, str], ...]  # (id, role, password, name) each


@cache
def _accounts_template(people: People = ()) -> Path:
    """A record database at this code's revision holding ``people``, made once per test
    session (hashing their passwords is the slow part)."""
    folder = Path(tempfile.mkdtemp(prefix="icpc-accounts-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    for person_id, role, password, name in people:
        add_person(f"sqlite:///{path}", person_id, role, password, name)
    return path


def accounts_database(folder: Path, people: People = ()) -> str:
    """A throwaway record database of its own (in ``folder``) for a test's people, sessions,
    sign-in failures and audit trail, holding ``people``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "accounts.sqlite3"
    shutil.copyfile(_accounts_template(people), path)
    return f"sqlite:///{path}"


def add_person(
    url: str | Settings,
    person_id: str,
    roles: str | list[str],
    password: str | None = PASSWORD,
    name: str = "",
    **details: object,
) -> None:
    """Add a person to a test's accounts database (any role id: the tests invent some).

    A person given no teams or areas is service-wide (they see every case through their roles
    other than the social worker's, as everyone did before case scoping); give ``teams=``,
    ``areas=`` or ``service_wide=False`` for a person whose scope a test is about."""
    if isinstance(url, Settings):
        url = url.people_url
    if not details.get("teams") and not details.get("areas"):
        details.setdefault("service_wide", True)
    engine = make_engine(url)
    try:
        PeopleStore(engine).add(
            person_id,
            roles=[roles] if isinstance(roles, str) else roles,
            name=name,
            password=password,
            **details,  # type: ignore[arg-type]
        )
    finally:
        engine.dispose()


def make_users(folder: Path) -> str:
    """An accounts database holding :data:`ACCOUNTS`, each with :data:`PASSWORD`."""
    return accounts_database(
        folder,
        tuple(
            (user, role, PASSWORD, user.split(".")[0].title() + " Example")
            for user, role in ACCOUNTS.items()
        ),
    )


def settings_for(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "secret": "test-secret-" + "x" * 40,
        "accounts_url": make_users(tmp_path / "accounts"),
        "signin_delay": 0.05,
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def csrf_token(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def post_sign_in(
    http: httpx.AsyncClient, user: str, password: str, **headers: str
) -> httpx.Response:
    """The sign-in form sent as a browser sends it (its CSRF token from the form's page).
    ``password``: the one the test's accounts were given (this module's :data:`PASSWORD`, or
    the web tests' conftest's)."""
    page = await http.get("/sign-in", headers=headers)
    return await http.post(
        "/sign-in",
        data={"user": user, "password": password, "csrf_token": csrf_token(page.text)},
        headers=headers,
    )


async def sign_in(http: httpx.AsyncClient, user: str, password: str) -> None:
    """Signed in as ``user``, or the test fails here."""
    response = await post_sign_in(http, user, password)
    assert response.status_code == 303, response.text


async def change_password(http: httpx.AsyncClient, current: str, new: str) -> httpx.Response:
    """The "Change your password" form sent as a browser sends it."""
    page = await http.get("/change-password")
    return await http.post(
        "/change-password",
        data={
            "current_password": current,
            "password": new,
            "password_again": new,
            "csrf_token": csrf_token(page.text),
        },
    )


@dataclass
class WebCase:
    client: Client
    case_id: str
    reference: str

    async def state(self) -> CaseState:
        return await read_case(self.client, self.case_id)

    async def events(self) -> list[tuple[str, str | None]]:
        return [(e.event, e.by.user if e.by else None) for e in (await self.state()).timeline]

    async def proposed_delay_date(self, extra_days: int = 7) -> date:
        return (await self.state()).deadline.astimezone(LONDON).date() + timedelta(extra_days)


def allocated_to(accounts: dict[str, str], proc_id: str = PROCEDURE) -> list[Contact]:
    """The procedure's invented contacts, with the case allocated to the test account holding
    each role (``accounts``: sign-in id -> role), so that a social worker sees their case."""
    users = {role: user for user, role in accounts.items()}
    return [
        c.model_copy(update={"user": users.get(c.role, c.user)})
        for c in contacts_for(procedure(proc_id))
    ]


async def start_web_case(client: Client, prefix: str = "WEB", **start: object) -> WebCase:
    """A bct-management-note case, allocated to :data:`ACCOUNTS` (``start`` changes its start:
    ``team=``, ``area=``, ``contacts=``)."""
    proc = procedure(PROCEDURE)
    reference = unique(prefix)
    strategy = london_instant(recent_working_day(), time(10, 0))
    start.setdefault("contacts", allocated_to(ACCOUNTS))
    started = await start_case(
        client, case_start(proc, strategy, reference=reference, **start), proc
    )
    case = WebCase(client, started.case_id, reference)
    for _ in range(150):  # until it has planned its due dates and answers queries
        with contextlib.suppress(Exception):
            if (await case.state()).timeline:
                return case
        await asyncio.sleep(0.1)
    raise AssertionError("the case did not start in time")


@contextlib.asynccontextmanager
async def worker_and_cleanup(env: WorkflowEnvironment) -> AsyncIterator[list[WebCase]]:
    """A worker on the case task queue; cases the test puts in the list are ended after."""
    cases: list[WebCase] = []
    async with build_worker(env.client, TASK_QUEUE):
        try:
            yield cases
        finally:
            for case in cases:
                with contextlib.suppress(Exception):
                    await env.client.get_workflow_handle(case.case_id).terminate("test finished")


def invented_summary(
    reference: str,
    *,
    procedure_id: str = PROCEDURE,
    strategy: datetime,
    deadline: datetime | None,
    stage: str = "awaiting_confirmation",
    is_open: bool = True,
    awaiting_role: str | None = "team_manager",
    outcome: str | None = None,
    closed_reason: str | None = None,
) -> CaseSummary:
    """A case summary as a workflow would record it, for a case that never ran."""
    day = strategy.astimezone(LONDON)
    return CaseSummary(
        case_id=f"icpc-{procedure_id}-{reference}-{day:%Y%m%d}",
        case_reference=reference,
        family_reference=f"FAM-{reference}",
        procedure_id=procedure_id,
        stream=Stream.CASE,
        stage=stage,
        is_open=is_open,
        strategy_discussion=strategy,
        icpc_deadline=strategy + timedelta(days=21),
        deadline=deadline if is_open else None,
        awaiting_role=awaiting_role if is_open else None,
        outcome=outcome,
        closed_at=None if is_open else strategy + timedelta(days=10),
        closed_reason=None if is_open else closed_reason,
    )


def record_summaries(url: str, summaries: list[CaseSummary]) -> None:
    """Write each summary to the case record, as the record activity does."""
    with RecordStore(url) as store:
        for summary in summaries:
            store.append(
                RecordBatch(case_id=summary.case_id, stream=summary.stream, summary=summary)
            )


@contextlib.contextmanager
def serve_on_loopback(app: FastAPI, port: int, name: str = "uvicorn") -> Iterator[str]:
    """``app`` under uvicorn on 127.0.0.1:``port``, in a thread of its own, for a real browser
    or a real provider's redirects; its base address while the block runs."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = clock.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or clock.monotonic() > deadline:
            raise AssertionError("uvicorn did not start")
        clock.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


async def no_temporal() -> Client:
    """A client factory for an app whose test never reaches Temporal."""
    raise ConnectionError("no Temporal here")


def http_for(app: object) -> httpx.AsyncClient:
    """An HTTP client calling ``app`` in process."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def bearer(settings: Settings, person_id: str) -> dict[str, str]:
    """The API's ``Authorization`` header for a new person token of ``person_id``."""
    engine = make_engine(settings.people_url)
    try:
        return {"Authorization": f"Bearer {PeopleStore(engine).issue_token(person_id)}"}
    finally:
        engine.dispose()
