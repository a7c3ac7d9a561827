"""The web form in a real browser: Debian's Chromium driven by Playwright, against uvicorn
serving the app in a background thread and a real case workflow on the Temporal dev server.

A team manager requests a delay (after a refusal whose reason the page shows), an area head
of service finds the case under "Waiting for me" and approves it. Every page is checked with
axe-core (from the npm registry) for serious or critical accessibility violations, and
screenshots of the main pages are saved under tests/artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.calendar import LONDON
from tests.case_helpers import unique
from tests.conftest import free_port
from tests.web.web_helpers import (
    PASSWORD,
    WebCase,
    invented_summary,
    record_summaries,
    serve_on_loopback,
    settings_for,
    start_web_case,
    worker_and_cleanup,
)
from web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).parent
AXE_DIR = HERE / ".axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = HERE.parent / "artifacts" / "screenshots"


def axe_script() -> Path:
    """axe-core from the npm registry, installed beside the tests on first use.

    A failed install fails the test: accessibility is checked, never silently skipped.
    """
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the accessibility checks")
        result = subprocess.run(
            [npm, "install", "--prefix", str(AXE_DIR), "axe-core@4", "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0 or not AXE.exists():
            pytest.fail(f"npm could not install axe-core:\n{result.stdout}\n{result.stderr}")
    return AXE


@pytest.fixture
def web_server(dev_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[str]:
    """uvicorn serving the app on a free port, in a thread with its own event loop and client."""
    target = dev_env.client.service_client.config.target_host
    namespace = dev_env.client.namespace

    async def client_factory() -> Client:
        return await Client.connect(
            target, namespace=namespace, data_converter=pydantic_data_converter
        )

    app = create_app(settings_for(tmp_path, signin_delay=0.1), client_factory)
    port = free_port()
    with serve_on_loopback(app, port, "uvicorn") as base:
        yield base


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


async def check_accessibility(page: Page, what: str, *, inject: bool = True) -> None:
    """axe-core on the page as it is now: no serious or critical violation. ``inject``: add
    axe-core to the page first (not when the browser context adds it to every page)."""
    if inject:
        await page.add_script_tag(path=str(axe_script()))
    violations: list[dict[str, Any]] = await page.evaluate(
        """async () => {
            const result = await axe.run(document);
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
            }));
        }"""
    )
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, f"{what}: accessibility violations: {bad}"


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def sign_in(page: Page, base: str, user: str) -> None:
    await page.goto(f"{base}/waiting")
    await expect(page).to_have_url(f"{base}/sign-in?next=/waiting")
    await page.get_by_label("Sign-in id").fill(user)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page).to_have_url(f"{base}/waiting")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Waiting for me")


async def fill_date(page: Page, legend: str, day: date) -> None:
    """The Design System's date input: day, month and year boxes in a fieldset."""
    group = page.get_by_role("group", name=legend)
    await group.get_by_label("Day").fill(str(day.day))
    await group.get_by_label("Month").fill(str(day.month))
    await group.get_by_label("Year").fill(str(day.year))


async def on_some_page(page: Page, row: Locator) -> bool:
    """Whether ``row`` is on this page of a list or a later one (the session's record holds
    other tests' cases too); the browser is left on the page that has it."""
    while not await row.count():
        following = page.get_by_role("link", name="Next")
        if not await following.count():
            return False
        await following.click()
    return True


def invented_cases(url: str, count: int) -> str:
    """``count`` invented cases in the record, every sixth closed; their reference prefix."""
    prefix = unique("AXE")
    strategy = datetime.now(LONDON) - timedelta(days=3)
    record_summaries(
        url,
        [
            invented_summary(
                f"{prefix}-{i:02d}",
                strategy=strategy,
                deadline=strategy + timedelta(days=21, hours=i),
                is_open=i % 6 != 0,
                stage="awaiting_confirmation" if i % 6 else "withdrawn",
                closed_reason="ICPC withdrawn",
            )
            for i in range(count)
        ],
    )
    return prefix


async def test_request_and_approve_a_delay_in_the_browser(
    dev_env: WorkflowEnvironment,
    smtp_server: object,
    web_server: str,
    browser: Browser,
    case_record: str,
) -> None:
    base = web_server
    listed = invented_cases(case_record, 60)
    async with worker_and_cleanup(dev_env) as cases:
        case: WebCase = await start_web_case(dev_env.client, "BRW")
        cases.append(case)
        state = await case.state()
        within = state.deadline.date()
        proposed = await case.proposed_delay_date(7)

        # --- a team manager: sign in, find the case, ask for a delay --------------------------
        manager = await (await browser.new_context(bypass_csp=True, locale="en-GB")).new_page()
        await manager.goto(f"{base}/waiting")
        await check_accessibility(manager, "sign-in page")
        await screenshot(manager, "01-sign-in")
        # Keyboard: the first Tab reaches the skip link.
        await manager.keyboard.press("Tab")
        assert await manager.evaluate("document.activeElement.textContent") == (
            "Skip to main content"
        )
        # A wrong password is refused with a linked error.
        await manager.get_by_label("Sign-in id").fill("tess.manager")
        await manager.get_by_label("Password").fill("not the password")
        await manager.get_by_role("button", name="Sign in").click()
        await expect(manager.get_by_role("alert")).to_contain_text("not right")
        await check_accessibility(manager, "sign-in page with an error")

        await sign_in(manager, base, "tess.manager")
        await check_accessibility(manager, "waiting list (team manager)")
        await manager.get_by_role("link", name="All cases", exact=True).click()
        await expect(manager.get_by_role("heading", level=1)).to_have_text("All open cases")
        await check_accessibility(manager, "all open cases")
        # Pages of cases, open and closed, from the record (invented ones, found by reference).
        await manager.get_by_label("Case reference").fill(listed)
        await manager.get_by_label("Open or closed").select_option("all")
        await manager.get_by_role("button", name="Find cases").click()
        await (
            manager.get_by_role("navigation", name="Pages of results")
            .get_by_role("link", name="Next")
            .click()
        )
        await expect(manager.get_by_test_id("results-count")).to_contain_text(
            "Showing 51 to 60 of 60 cases"
        )
        await expect(manager.get_by_role("columnheader", name="Closed")).to_have_count(1)
        await check_accessibility(manager, "a page of open and closed cases")
        await screenshot(manager, "02-cases-page-2")
        # A case Temporal does not have (these never ran): its page is the record's.
        await manager.get_by_role("link", name=f"{listed}-00").click()
        await expect(manager.get_by_test_id("record-only")).to_contain_text(
            "This case is closed and kept in the case record; it takes no more decisions."
        )
        await check_accessibility(manager, "a case read from the record")
        await screenshot(manager, "02-case-from-the-record")
        # A month that is not one is named next to its field (typed where month inputs are text).
        await manager.goto(f"{base}/cases?reference={listed}&month=2026-13")
        await expect(manager.get_by_role("alert")).to_contain_text("Enter the month")
        await check_accessibility(manager, "cases with a search error")
        # The case this test started, found by its reference (the record is a moment behind).
        await manager.goto(f"{base}/cases")
        await manager.get_by_label("Case reference").fill(case.reference)
        await manager.get_by_role("button", name="Find cases").click()
        link = manager.get_by_role("link", name=case.reference)
        for _ in range(100):
            if await link.count():
                break
            await asyncio.sleep(0.2)
            await manager.reload()
        await link.click()
        await expect(manager.get_by_role("heading", level=1)).to_have_text(f"Case {case.reference}")
        await check_accessibility(manager, "case page")
        await screenshot(manager, "02-case-page")

        await manager.get_by_role("link", name="Request a delay").click()
        await check_accessibility(manager, "request a delay")
        # Nothing filled in: each missing field is named in the summary and linked to it.
        await manager.get_by_role("button", name="Send decision").click()
        summary = manager.get_by_role("alert")
        await expect(summary).to_contain_text("There is a problem")
        await check_accessibility(manager, "request a delay with errors")
        await summary.get_by_role("link", name="Enter why a delay is needed").click()
        assert await manager.evaluate("document.activeElement.id") == "f-reason"

        # Within the statutory limit: the workflow refuses, the page says why and keeps the text.
        reason = "The <b>key</b> agency cannot attend before then"
        await fill_date(manager, "Proposed date of the conference", within)
        await manager.get_by_label("Why is a delay needed?").fill(reason)
        await manager.get_by_label("How will the child be kept safe until then?").fill(
            "Daily visits by the social worker"
        )
        await manager.get_by_role("button", name="Send decision").click()
        await expect(manager.get_by_test_id("refusal")).to_contain_text(
            "is within the statutory limit"
        )
        await expect(manager.get_by_label("Why is a delay needed?")).to_have_value(reason)
        await check_accessibility(manager, "refused decision")
        await screenshot(manager, "03-refused-decision")

        await fill_date(manager, "Proposed date of the conference", proposed)
        await manager.get_by_role("button", name="Send decision").click()
        await expect(manager.get_by_test_id("accepted")).to_contain_text("Delay requested")
        await expect(manager.get_by_test_id("stage")).to_have_text("Awaiting delay decision")
        await expect(manager.get_by_test_id("timeline")).to_contain_text(reason)  # as text
        await check_accessibility(manager, "case page after a decision")
        await screenshot(manager, "04-delay-requested")

        # --- an area head of service: finds it waiting, approves it --------------------------
        head = await (await browser.new_context(bypass_csp=True, locale="en-GB")).new_page()
        await sign_in(head, base, "hal.head")
        row = head.get_by_role("row").filter(has_text=case.reference)
        for _ in range(100):  # the record is a moment behind the update
            if await on_some_page(head, row):
                break
            await asyncio.sleep(0.2)
            await head.goto(f"{base}/waiting")
        await expect(row).to_contain_text("Approve a delay")
        await expect(row).to_contain_text("working day")
        await check_accessibility(head, "waiting list (area head of service)")
        await screenshot(head, "05-waiting-for-me")

        await row.get_by_role("link", name=case.reference).click()
        await expect(head.get_by_test_id("delay")).to_contain_text("Pending")
        await head.get_by_role("link", name="Approve a delay").click()
        await head.get_by_label("Your reasons for approving the delay").fill(
            "Agreed: the safety plan covers the extra days"
        )
        await screenshot(head, "06-approve-delay")
        await head.get_by_role("button", name="Send decision").click()
        await expect(head.get_by_test_id("accepted")).to_contain_text("Delay approved")
        await expect(head.get_by_test_id("delay")).to_contain_text("Approved")
        await expect(head.get_by_test_id("stage")).not_to_have_text("Awaiting delay decision")
        await expect(head.get_by_test_id("timeline")).to_contain_text("hal.head")
        await check_accessibility(head, "case page after approval")
        await screenshot(head, "07-delay-approved")

        # The approval is no longer offered, and posting it again is forbidden.
        await expect(head.get_by_role("link", name="Approve a delay")).to_have_count(0)
        response = await head.goto(f"{base}/cases/{case.case_id}/decisions/approve_delay")
        assert response is not None and response.status == 403
        await check_accessibility(head, "forbidden page")

        events = await case.events()
        assert ("request_delay", "tess.manager") in events
        assert ("approve_delay", "hal.head") in events
