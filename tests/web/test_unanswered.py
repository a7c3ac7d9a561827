"""When the case service cannot be reached, or a path does not answer its query: a plain 503
page, and "Waiting for me" still lists the path from what Temporal's visibility knows."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from contracts import search_attributes as sa
from contracts.case import CASE_WORKFLOW
from domain.calendar import LONDON
from tests.case_helpers import unique
from tests.web.conftest import BCT, PASSWORD, csrf_token
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
        for path in ("/waiting", "/cases", "/cases/icpc-bct-management-note-X-1-20270104"):
            response = await http.get(path)
            assert response.status_code == 503, path
            assert "Sorry, the service is unavailable" in response.text
    assert attempts == 3


async def test_a_path_that_does_not_answer_is_listed_from_visibility(
    web_settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    reference = unique("QUIET")
    case_id = f"icpc-{BCT}-{reference}-20270104"
    deadline = datetime.now(LONDON) + timedelta(days=14)
    # No worker serves this task queue: the case never answers its query.
    handle = await dev_env.client.start_workflow(
        CASE_WORKFLOW,
        id=case_id,
        task_queue=unique("nobody-here"),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.PROCEDURE, BCT),
                SearchAttributePair(sa.CASE_REFERENCE, reference),
                SearchAttributePair(sa.STAGE, "awaiting_confirmation"),
                SearchAttributePair(sa.AWAITING_ROLE, "team_manager"),
                SearchAttributePair(sa.DEADLINE, deadline),
            ]
        ),
    )

    async def client_factory() -> Client:
        return dev_env.client

    try:
        async with http_for(create_app(web_settings, client_factory)) as http:
            await sign_in(http, "tmanager")
            for _ in range(100):  # visibility is a moment behind the start
                page = await http.get("/waiting")
                if reference in page.text:
                    break
                await asyncio.sleep(0.1)
            assert page.status_code == 200
            row = page.text.split(reference, 1)[1].split("</tr>", 1)[0]
            assert f'href="/cases/{case_id}"' in page.text
            assert "ICPC" in row and "Awaiting confirmation" in row
            assert "working days left" in row  # counted with the procedure's calendar
    finally:
        await handle.terminate("test finished")
