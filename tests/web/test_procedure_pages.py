"""The procedure pages in a real browser: bpmn-js (vendored under web/static/vendor/bpmn-js)
draws each of the five procedures' BPMN, with every shape the export has, beside the same
process in words; axe-core finds no serious or critical violation at 1280 and 320 pixels wide,
and nothing scrolls sideways at 320. Screenshots go to tests/artifacts/screenshots/.

The pages need no Temporal server: the app's client factory is never called here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from temporalio.client import Client

from procedures import load_all
from procedures.bpmn import shape_count
from tests.conftest import free_port
from tests.web.test_browser import axe_script, browser, check_accessibility, screenshot
from tests.web.web_helpers import ACCOUNTS, PASSWORD, serve_on_loopback, settings_for
from web.app import create_app

__all__ = ["browser"]  # the fixture, from the browser tests

PROCEDURES = load_all()
USER = next(iter(ACCOUNTS))


async def no_temporal() -> Client:
    raise AssertionError("the procedure pages do not talk to Temporal")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    """uvicorn serving the app on a free port, in a thread of its own."""
    app = create_app(settings_for(tmp_path, signin_delay=0.05), no_temporal)
    port = free_port()
    with serve_on_loopback(app, port, "uvicorn") as base:
        yield base


async def sign_in_to(page: Page, url: str) -> None:
    """Ask for a page, sign in on the way, and land on it."""
    await page.goto(url)
    await expect(page).to_have_url(re.compile(r"/sign-in\?next=/procedures"))
    await page.get_by_label("Sign-in id").fill(USER)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url)


async def under_csp(browser: Browser, **options: object) -> BrowserContext:
    """A context that keeps the pages' Content-Security-Policy (the viewer must work under it),
    with axe-core added to every page before its own scripts (as the debugger does: no CSP)."""
    context = await browser.new_context(locale="en-GB", **options)  # type: ignore[arg-type]
    await context.add_init_script(path=axe_script())
    return context


async def drawn_shapes(page: Page) -> int:
    """The shapes bpmn-js drew (pool, lanes and flow nodes; not their external labels)."""
    diagram = page.locator("#procedure-diagram[data-rendered=true]")
    await expect(diagram).to_be_visible(timeout=15_000)
    count: int = await page.evaluate(
        """() => document.querySelectorAll(
            '#procedure-diagram .djs-shape:not([data-element-id$="_label"])').length"""
    )
    return count


async def scrolls_sideways(page: Page) -> bool:
    wide: bool = await page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    return wide


async def test_every_procedure_is_drawn_by_bpmn_js_beside_its_words(
    site: str, browser: Browser
) -> None:
    context = await under_csp(browser, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    await sign_in_to(page, f"{site}/procedures")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Procedures")
    await check_accessibility(page, "the procedures list", inject=False)

    for procedure_id, procedure in sorted(PROCEDURES.items()):
        await page.get_by_role("link", name=procedure.title).click()
        await expect(page).to_have_url(f"{site}/procedures/{procedure_id}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(procedure.title)
        assert await drawn_shapes(page) == shape_count(procedure), procedure_id
        # The same process in words, every milestone under its role.
        words = page.locator("section[aria-labelledby=in-words]")
        for m in procedure.milestones:
            await expect(words.get_by_text(m.title, exact=True)).to_be_visible()
        await expect(page.locator(".bjs-powered-by")).to_be_visible()  # bpmn.io's licence
        await check_accessibility(page, f"the procedure page for {procedure_id}", inject=False)
        await screenshot(page, f"procedure-{procedure_id}")
        await page.get_by_role("link", name="Back to procedures").click()

    # Narrow: the page reflows at 320 CSS pixels (WCAG 1.4.10), and the diagram still draws.
    await page.set_viewport_size({"width": 320, "height": 800})
    await page.goto(f"{site}/procedures/man13-qarss")
    assert await drawn_shapes(page) == shape_count(PROCEDURES["man13-qarss"])
    assert not await scrolls_sideways(page)
    await check_accessibility(page, "the procedure page at 320 pixels", inject=False)
    await screenshot(page, "procedure-man13-qarss-320")
    await context.close()
    # Nothing refused or missing (a browser asks for /favicon.ico by itself: none is served).
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
    assert [e for e in errors if "/favicon.ico" not in e and e[:1].isdigit()] == []


async def test_the_bpmn_downloads_and_an_unknown_procedure_is_not_found(
    site: str, browser: Browser
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in_to(page, f"{site}/procedures/bct-management-note")
    answer = await page.request.get(f"{site}/procedures/bct-management-note/diagram.bpmn")
    assert answer.ok and answer.headers["content-type"].startswith("application/xml")
    assert 'filename="bct-management-note.bpmn"' in answer.headers["content-disposition"]
    assert (await answer.text()).startswith('<?xml version="1.0" encoding="UTF-8"?>')
    missing = await page.goto(f"{site}/procedures/no-such-procedure")
    assert missing is not None and missing.status == 404
    await context.close()


async def test_the_pages_need_someone_signed_in(site: str, browser: Browser) -> None:
    context = await browser.new_context()
    answer = await context.request.get(
        f"{site}/procedures/bct-management-note/diagram.bpmn", max_redirects=0
    )
    assert answer.status == 303
    assert answer.headers["location"].startswith("/sign-in?next=")
    await context.close()
