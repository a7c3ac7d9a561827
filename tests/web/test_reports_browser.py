"""The Reports page in a real browser (Debian's Chromium, Playwright), under the form's own
Content-Security-Policy, over a simulated year: it renders from the navigation, each chart is
an image with a text alternative beside a table of its numbers, axe-core finds no serious or
critical violation at 1280 and 320 pixels wide, and nothing scrolls sideways at 320.
Screenshots go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from domain.calendar import LONDON
from procedures import load_all
from records.database import upgrade
from records.store import RecordStore
from simulation.year import simulate
from tests.conftest import free_port
from tests.web.test_browser import browser, check_accessibility, screenshot
from tests.web.test_procedure_pages import scrolls_sideways, under_csp
from tests.web.web_helpers import add_person, serve_on_loopback, settings_for
from web.app import create_app

__all__ = ["browser"]  # the fixture, from the browser tests

PASSWORD = "correct horse battery staple"
NOW = datetime.now(LONDON)


async def no_temporal() -> object:
    raise AssertionError("the reports do not talk to Temporal")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    upgrade(url)
    simulation = simulate(200, NOW.year, 9, [load_all()["bct-management-note"]], NOW)
    with RecordStore(url) as store:
        store.append_many(simulation.batches)
    settings = settings_for(tmp_path, record_url=url, signin_delay=0.05)
    add_person(settings, "hos.all", ["area_head_of_service"], PASSWORD, name="Hal Head")
    app = create_app(settings, no_temporal)  # type: ignore[arg-type]
    port = free_port()
    with serve_on_loopback(app, port, "uvicorn") as base:
        yield base


async def test_the_reports_page_renders_accessibly_and_reflows(site: str, browser: Browser) -> None:
    context = await under_csp(browser, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    await page.goto(f"{site}/waiting")
    await page.get_by_label("Sign-in id").fill("hos.all")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="Reports").click()
    await expect(page).to_have_url(f"{site}/reports")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Reports")

    # Each chart is an image named by its title and described by its numbers in words.
    kpi = page.get_by_role("img", name="ICPCs held within 15 working days, by month")
    await expect(kpi).to_be_visible()
    described = await kpi.evaluate(
        "svg => document.getElementById(svg.getAttribute('aria-labelledby').split(' ')[1])"
        ".textContent"
    )
    assert "England's rate of 81.4%" in described
    capacity = page.get_by_role("img", name="Conferences expected each week")
    await expect(capacity).to_be_visible()
    await expect(
        page.get_by_role("table", name="ICPCs within 15 working days, by month")
    ).to_be_visible()
    await expect(page.get_by_role("link", name="Download the months as CSV")).to_be_visible()
    await check_accessibility(page, "the reports page", inject=False)
    await screenshot(page, "reports")

    # Narrow: reflows at 320 CSS pixels (WCAG 1.4.10); wide tables scroll in their own region.
    await page.set_viewport_size({"width": 320, "height": 800})
    await page.reload()
    await expect(kpi).to_be_visible()
    assert not await scrolls_sideways(page)
    await check_accessibility(page, "the reports page at 320 pixels", inject=False)
    await screenshot(page, "reports-320")
    await context.close()
    # Nothing refused or missing (a browser asks for /favicon.ico by itself: none is served).
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
    assert [e for e in errors if "/favicon.ico" not in e and e[:1].isdigit()] == []
