"""When the case service cannot be reached, or a path does not answer its query: the case page
is a plain 503 page, and the lists still show what the case record knows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.case import CASE_WORKFLOW
from domain.calendar import LONDON
from tests.case_helpers import unique
from tests.web.conftest import BCT, PASSWORD
from tests.web.web_helpers import add_person, csrf_token, invented_summary, record_summaries
from web.app import create_app
from web.settings import Settings


def http_for(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def sign_in(http: httpx.AsyncClient, user: str) -> None:
    page = await http.get("/sign-in")
    response = await http.post(
        "/sign-in", data={"user": user, "password": PASSWORD, "csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 303


async def test_an_unreachable_case_service_gives_a_503_page_and_is_tried_again(
    web_settings: Settings,
) -> None:
    attempts = 0

    async def unreachable() -> Client:
        nonlocal attempts
        attempts += 1
        raise ConnectionError("no Temporal here")

    async with http_for(create_app(web_settings, unreachable)) as http:
        await sign_in(http, "tmanager")
        # The lists come from the case record: "Waiting for me" says it cannot confirm them.
        waiting = await http.get("/waiting")
        assert waiting.status_code == 200
        assert 'data-testid="not-live"' in waiting.text
        assert (await http.get("/cases")).status_code == 200
        for _ in range(2):
            response = await http.get("/cases/icpc-bct-management-note-X-1-20270104")
            assert response.status_code == 503
            assert "Sorry, the service is unavailable" in response.text
    assert attempts == 3  # each page tries again; the list of all cases does not need it


async def test_a_path_that_does_not_answer_is_listed_from_the_record_one_gone_is_not(
    web_settings: Settings, dev_env: WorkflowEnvironment, case_record: str
) -> None:
    role = f"quiet_{uuid.uuid4().hex[:8]}"  # no other test's cases wait for this role
    add_person(web_settings, "quiet", role, PASSWORD, "Quiet Example")
    reference = unique("QUIET")
    strategy = datetime(2027, 1, 4, 10, 0, tzinfo=LONDON)
    case_id = f"icpc-{BCT}-{reference}-20270104"
    deadline = datetime.now(LONDON) + timedelta(days=14)
    summary = invented_summary(
        reference, strategy=strategy, deadline=deadline, awaiting_role=role, procedure_id=BCT
    )
    assert summary.case_id == case_id
    # Open in the record, but Temporal has no such workflow (terminated, then deleted).
    gone = invented_summary(
        unique("GONE"), strategy=strategy, deadline=deadline, awaiting_role=role, procedure_id=BCT
    )
    record_summaries(case_record, [summary, gone])
    # No worker serves this task queue: the case never answers its query.
    handle = await dev_env.client.start_workflow(
        CASE_WORKFLOW, id=case_id, task_queue=unique("nobody-here")
    )

    async def client_factory() -> Client:
        return dev_env.client

    try:
        async with http_for(create_app(web_settings, client_factory)) as http:
            await sign_in(http, "quiet")
            page = await http.get("/waiting")
            assert page.status_code == 200
            assert 'data-testid="not-live"' not in page.text
            row = page.text.split(reference, 1)[1].split("</tr>", 1)[0]
            assert f'href="/cases/{case_id}"' in page.text
            assert "ICPC" in row and "Awaiting confirmation" in row
            assert "working days left" in row  # counted with the procedure's calendar
            assert gone.case_reference not in page.text  # it takes no decisions any more
    finally:
        await handle.terminate("test finished")
