"""The plan after the ICPC in the web form, against a real plan workflow on the dev server:
it waits for business support to book the review, the review is booked from the form, someone
the plan is not theirs to see gets the 404 of a case with no plan and the plan receives nothing.
"""

from __future__ import annotations

import asyncio
import html
import re
from datetime import datetime
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.calendar import LONDON
from tests.case_helpers import unique
from tests.test_plan_workflow import start_plan, working_days_before_due
from tests.web.web_helpers import PASSWORD, add_person, csrf_token, settings_for, sign_in
from web.app import create_app
from workers.main import build_worker

NO_CASE = "icpc-bct-management-note-NOSUCHCASE-20260101"  # a well-formed id of no case


def main(page: httpx.Response) -> str:
    """What a page says, below the header (which names the signed-in person)."""
    return page.text.split("<main", 1)[1]


async def waiting_page_with(http: httpx.AsyncClient, reference: str) -> httpx.Response:
    """The page of "Waiting for me" that lists ``reference`` (the session's record holds other
    tests' cases too), or its last page."""
    url = "/waiting"
    while True:
        page = await http.get(url)
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        if reference in page.text or found is None:
            return page
        url = html.unescape(found.group(1))


async def test_plan_decisions_in_the_form(
    dev_env: WorkflowEnvironment, smtp_server: object, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    add_person(settings, "bea.support", "business_support")
    add_person(settings, "sam.worker", "social_worker")

    async def client_factory() -> Client:
        return dev_env.client

    app = create_app(settings, client_factory)
    async with build_worker(dev_env.client, task_queue=unique("web-plans")) as worker:
        plan = await start_plan(dev_env.client, worker.task_queue, datetime.now(LONDON))
        case_id = plan.plan_id.removesuffix("-plan")
        try:
            state = await plan.state()
            reference = state.case_reference
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                await sign_in(http, "bea.support", PASSWORD)
                for _ in range(100):  # the record is a moment behind the plan's start
                    waiting = await waiting_page_with(http, reference)
                    if reference in waiting.text:
                        break
                    await asyncio.sleep(0.1)
                assert f'href="/cases/{case_id}/plan"' in waiting.text
                row = waiting.text.split(reference, 1)[1].split("</tr>", 1)[0]
                assert "book the review conference" in row.lower(), row

                page = await http.get(f"/cases/{case_id}/plan")
                assert page.status_code == 200
                assert "Awaiting review booking" in page.text
                day = working_days_before_due(state, 5)
                response = await http.post(
                    f"/cases/{case_id}/plan/decisions/book_review",
                    data={
                        "csrf_token": csrf_token(page.text),
                        "date": day.isoformat(),
                        "time": "10:00",
                        "duration_minutes": "90",
                        "format": "virtual",
                        "venue": "",
                        "chair": "Chair B",
                    },
                )
                assert response.status_code == 303, response.text
                page = await http.get(response.headers["location"])
                assert "Decision accepted" in page.text and "Review booked" in page.text

                before = len((await plan.state()).timeline)
                await http.post("/sign-out", data={"csrf_token": csrf_token(page.text)})
                # A social worker the plan is not allocated to (no break glass): its every
                # address answers as for a case with no plan, so whether the child is on one
                # is not told.
                await sign_in(http, "sam.worker", PASSWORD)
                hidden = await http.get(f"/cases/{case_id}/plan")
                no_plan = await http.get(f"/cases/{NO_CASE}/plan")
                assert (hidden.status_code, no_plan.status_code) == (404, 404)
                assert main(hidden) == main(no_plan)
                assert "This case has no child protection plan." in main(hidden)
                form = await http.get(f"/cases/{case_id}/plan/decisions/end_plan")
                assert form.status_code == 404 and main(form) == main(no_plan)
                response = await http.post(
                    f"/cases/{case_id}/plan/decisions/end_plan",
                    data={
                        "csrf_token": csrf_token(hidden.text),
                        "end_reason": "looked_after",
                        "reason": "not mine to end",
                    },
                )
                assert response.status_code == 404 and main(response) == main(no_plan)
                assert len((await plan.state()).timeline) == before
        finally:
            await plan.handle.terminate("test finished")
