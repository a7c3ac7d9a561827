"""Case scoping in a real browser (Debian's Chromium, driven by Playwright, against uvicorn and a
real case on the Temporal dev server): an area head of another area is refused a case, breaks
glass with a reason and reads it read-only; the case's team manager reassigns it to a social
worker picked from the team. Every page is checked with axe-core; screenshots go to
tests/artifacts/screenshots/.

Every name and reference here is invented.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tests.conftest import free_port
from tests.web.test_browser import browser, check_accessibility, screenshot, sign_in  # noqa: F401
from tests.web.test_scoping import Units, add_people, allocated
from tests.web.web_helpers import (
    PASSWORD,
    serve_on_loopback,
    settings_for,
    start_web_case,
    worker_and_cleanup,
)
from web.app import create_app


@pytest.fixture
def units() -> Units:
    return Units()


@pytest.fixture
def scoped_server(dev_env: WorkflowEnvironment, tmp_path: Path, units: Units) -> Iterator[str]:
    """uvicorn serving the app, with this test's teams' people, in a thread of its own."""
    target = dev_env.client.service_client.config.target_host
    namespace = dev_env.client.namespace

    async def client_factory() -> Client:
        return await Client.connect(
            target, namespace=namespace, data_converter=pydantic_data_converter
        )

    settings = settings_for(tmp_path, signin_delay=0.0)
    add_people(settings, units, PASSWORD)
    app = create_app(settings, client_factory)
    port = free_port()
    with serve_on_loopback(app, port, "uvicorn-scoping") as base:
        yield base


async def test_break_glass_and_reassign_in_the_browser(
    dev_env: WorkflowEnvironment,
    smtp_server: object,
    scoped_server: str,
    browser: Browser,  # noqa: F811
    units: Units,
) -> None:
    base = scoped_server
    async with worker_and_cleanup(dev_env) as cases:
        case = await start_web_case(
            dev_env.client,
            "SCB",
            team=units.team_a,
            area=units.area_a,
            contacts=allocated(social_worker="north.sw", team_manager="north.tm"),
        )
        cases.append(case)

        # --- an area head of another area: refused, then breaks glass with a reason ----------
        head = await (await browser.new_context(bypass_csp=True, locale="en-GB")).new_page()
        await sign_in(head, base, "south.hos")
        response = await head.goto(f"{base}/cases/{case.case_id}")
        assert response is not None and response.status == 403
        await expect(head.get_by_role("heading", level=1)).to_have_text("You cannot see this case")
        await expect(head.get_by_test_id("problem")).to_have_text(
            "This case is not in your team or area, and is not allocated to you."
        )
        await check_accessibility(head, "a case out of scope, with the break-glass form")
        await screenshot(head, "scoping-01-out-of-scope")

        await head.get_by_role("button", name="Read the case").click()
        summary = head.get_by_role("alert")
        await expect(summary).to_contain_text("Enter why you need to read this case")
        await check_accessibility(head, "break glass without a reason")
        await summary.get_by_role("link").click()
        assert await head.evaluate("document.activeElement.id") == "f-reason"

        reason = "Police called out of hours about the child; checking the plan"
        await head.get_by_label("Why do you need to read this case?").fill(reason)
        await head.get_by_role("button", name="Read the case").click()
        await expect(head.get_by_role("heading", level=1)).to_have_text(f"Case {case.reference}")
        await expect(head.get_by_test_id("break-glass")).to_contain_text("read-only")
        await expect(head.get_by_test_id("break-glass-reason")).to_have_text(reason)
        await expect(head.get_by_role("link", name="Confirm the ICPC")).to_have_count(0)
        await check_accessibility(head, "a case read by breaking glass")
        await screenshot(head, "scoping-02-break-glass-read")

        # --- the case's team manager: reassigns it to a social worker of the team ------------
        manager = await (await browser.new_context(bypass_csp=True, locale="en-GB")).new_page()
        await sign_in(manager, base, "north.tm")
        await manager.goto(f"{base}/cases/{case.case_id}")
        await expect(manager.get_by_test_id("allocated").first).to_be_visible()
        await manager.get_by_role("link", name="Reassign a worker").click()
        await expect(manager.get_by_role("radio")).to_have_count(2)  # Max and Ned, not Suki
        await expect(manager.get_by_label("Suki Worker (south.sw)")).to_have_count(0)
        await check_accessibility(manager, "the reassign form")
        await screenshot(manager, "scoping-03-reassign-form")
        await manager.get_by_role("button", name="Send decision").click()
        await expect(manager.get_by_role("alert")).to_contain_text(
            "Select who takes the case over as its social worker"
        )
        await check_accessibility(manager, "the reassign form with an error")
        await manager.get_by_label("Ned Worker (north.sw2)").check()
        await manager.get_by_label("Notes (optional)").fill("Nell is on leave")
        await manager.get_by_role("button", name="Send decision").click()
        await expect(manager.get_by_test_id("accepted")).to_contain_text("reassigned")
        [worker] = [c for c in (await case.state()).start.contacts if c.role == "social_worker"]
        assert (worker.user, worker.email) == ("north.sw2", "north.sw2@staff.example.org")
