"""Every page of the web form in one browser, each a named case: axe-core finds no serious or
critical violation at 1280 px and at 320 px wide, and nothing scrolls sideways (WCAG 2.2
reflow). Each lands on its own heading (and, where it has one, the part its state shows); a
form sent empty answers 400 with the error summary focused; the service navigation offers the
procedures to everyone signed in and marks the page's section. One server, one Chromium, one
browser context per person, pages in turn.

The pages other browser tests already check at both widths in the same state are not visited
again: the plain sign-in page, a team manager's "Waiting for me", all cases, the convening
sheet and a delay request with their errors, the case page (test_govuk_browser.py), and the
reports (test_reports_browser.py).

Every name and reference here is invented.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.case import TASK_QUEUE
from domain.calendar import LONDON
from records.database import make_engine
from records.signin_guard import Limits, SigninGuard
from tests.case_helpers import unique
from tests.conftest import free_port, smtp_on_loopback
from tests.test_plan_workflow import start_plan
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.web.test_govuk_browser import check_both_widths
from tests.web.web_helpers import (
    add_person,
    invented_summary,
    record_summaries,
    serve_on_loopback,
    settings_for,
    start_web_case,
    worker_and_cleanup,
)
from web.app import create_app
from web.oidc_settings import CALLBACK_PATH, OidcSettings
from web.rendering import TEMPLATES

ADMIN = "ada.admin"
FAR_HEAD = "far.head"  # an area head of service of another area: the case is out of scope
SUPPORT = "bea.support"
CODEC_SUPPORT = "sid.support"  # the support role: decodes case data for the Temporal Web UI
MANAGER = "tess.manager"
LOCKED = "lou.locked"  # failed sign-ins have locked this sign-in id


@dataclass(frozen=True)
class Visit:
    """One page in one state. ``path`` may name ``{case}`` (a live case), ``{closed}`` (a
    closed case whose workflow is gone) and ``{plan}`` (the case of a live plan)."""

    name: str
    who: str | None  # a sign-in id; None: signed out
    path: str
    heading: str  # the start of the page's h1 ({case_ref} ...), so a wrong page cannot pass
    status: int = 200
    fill: dict[str, str] = field(default_factory=dict)  # label -> what to type, then ...
    press: str = ""  # ... the button to press (nothing typed: the page with its errors)
    after: int = 200  # the status after pressing
    shows: str = ""  # the data-testid of a part the page must show in this state
    # The service navigation's link marked for this page, and how: "page" (the section's own
    # page) or "true" (a page inside the section).
    marked: tuple[str, str] | None = None
    kept: tuple[str, str] | None = None  # a box's label, and the answer in error it holds


VISITS = [
    Visit("sign-in with single sign-on", None, "/sign-in", "Sign in"),
    Visit("sign-in with errors", None, "/sign-in", "Sign in", press="Sign in", after=400),
    Visit(
        "single sign-on refused",
        None,
        f"{CALLBACK_PATH}?error=access_denied",
        "Signing in did not complete",
        status=400,
    ),
    Visit("page not found", MANAGER, "/no-such-page", "Page not found", status=404),
    Visit(
        "waiting for an administrator, who takes no decisions",
        ADMIN,
        "/waiting",
        "Waiting for me",
        marked=("Waiting for me", "page"),
    ),
    Visit("procedures", MANAGER, "/procedures", "Procedures", marked=("Procedures", "page")),
    Visit(
        "one procedure",
        MANAGER,
        "/procedures/bct-management-note",
        "Birmingham Children's Trust — Management note",
        marked=("Procedures", "true"),
    ),
    Visit(
        "cases with a search error",
        MANAGER,
        "/cases?month=2026-13",
        "All open cases",
        marked=("All cases", "page"),
        kept=("Month of the strategy discussion", "2026-13"),
    ),
    Visit(
        "reassign a worker with an error",
        MANAGER,
        "/cases/{case}/decisions/reassign_worker",
        "Reassign",
        press="Send decision",
        after=400,
    ),
    Visit(
        "a closed case from the record",
        MANAGER,
        "/cases/{closed}",
        "Case {closed_ref}",
        shows="record-only",
    ),
    Visit(
        "a case out of scope, with the break-glass form",
        FAR_HEAD,
        "/cases/{case}",
        "You cannot see this case",
        status=403,
    ),
    Visit(
        "break glass without a reason",
        FAR_HEAD,
        "/cases/{case}",
        "You cannot see this case",
        status=403,
        press="Read the case",
        after=400,
    ),
    Visit(
        "a case read by breaking glass",
        FAR_HEAD,
        "/cases/{case}",
        "Case {case_ref}",
        status=403,
        fill={"Why do you need to read this case?": "Police called out of hours about a child"},
        press="Read the case",
        shows="break-glass",
    ),
    Visit("a plan", SUPPORT, "/cases/{plan}/plan", "Child protection plan: case {plan_ref}"),
    Visit(
        "book a review with errors",
        SUPPORT,
        "/cases/{plan}/plan/decisions/book_review",
        "Book the review",
        press="Send decision",
        after=400,
    ),
    Visit(
        "accounts, with sign-in locks",
        ADMIN,
        "/accounts",
        "Accounts",
        shows="locks",
        marked=("Accounts", "page"),
    ),
    Visit(
        "one account",
        ADMIN,
        f"/accounts/{MANAGER}",
        f"Tess Example ({MANAGER})",
        marked=("Accounts", "true"),
    ),
    Visit(
        "a locked account",
        ADMIN,
        f"/accounts/{LOCKED}",
        f"Lou Locked ({LOCKED})",
        marked=("Accounts", "true"),
    ),
    Visit("add an account", ADMIN, "/accounts/new", "Add an account", marked=("Accounts", "true")),
    Visit(
        "add an account with errors",
        ADMIN,
        "/accounts/new",
        "Add an account",
        press="Add the account",
        after=400,
        marked=("Accounts", "true"),
    ),
    Visit("audit trail", ADMIN, "/admin/audit", "Audit trail", marked=("Audit trail", "page")),
    Visit(
        "why you need to read case data",
        CODEC_SUPPORT,
        "/codec/reason",
        "Why you need to read case data",
    ),
    Visit(
        "why you need to read case data, with an error",
        CODEC_SUPPORT,
        "/codec/reason",
        "Why you need to read case data",
        press="Record my reason",
        after=400,
    ),
    Visit(
        "audit trail with a search error",
        ADMIN,
        "/admin/audit?person=Not+An+Id",
        "Audit trail",
        status=400,
        marked=("Audit trail", "page"),
    ),
]


# Where each page template is checked at both widths: a visit above, or another browser test.
CHECKED_IN = {
    "account.html": "one account",
    "account_new.html": "add an account",
    "accounts.html": "accounts, with sign-in locks",
    "audit.html": "audit trail",
    "case.html": "test_govuk_browser.py",
    "case_refused.html": "a case out of scope, with the break-glass form",
    "change_password.html": "test_accounts_browser.py",
    "codec_reason.html": "why you need to read case data",
    "cases.html": "cases with a search error",
    "decision.html": "reassign a worker with an error",
    "plan.html": "a plan",
    "problem.html": "page not found",
    "procedure.html": "one procedure",
    "procedures.html": "procedures",
    "recorded.html": "a closed case from the record",
    "reports.html": "test_reports_browser.py",
    "sign_in.html": "sign-in with single sign-on",
    "sign_in_refused.html": "single sign-on refused",
    "waiting.html": "waiting for an administrator, who takes no decisions",
}


def test_every_page_template_is_checked_somewhere() -> None:
    """A new page template fails here until a browser test checks it at both widths."""
    pages = {p.name for p in TEMPLATES.glob("*.html")} - {"base.html"}
    assert {p for p in pages if not p.startswith("_")} == set(CHECKED_IN)
    names = {v.name for v in VISITS}
    for template, where in CHECKED_IN.items():
        assert where in names or (Path(__file__).parent / where).exists(), template


@dataclass
class Site:
    base: str
    browser: Browser
    ids: dict[str, str]
    pages: dict[str | None, Page] = field(default_factory=dict)

    async def page_for(self, who: str | None) -> Page:
        """The browser tab of ``who``, signed in on first use (None: never signed in)."""
        if who not in self.pages:
            context: BrowserContext = await self.browser.new_context(
                bypass_csp=True, locale="en-GB"
            )
            page = await context.new_page()
            if who is not None:
                await sign_in(page, self.base, who)
            self.pages[who] = page
        return self.pages[who]


def lock_out(url: str, account: str, address: str) -> None:
    """One failed sign-in that locks ``account`` and ``address`` (a limit of one each)."""
    engine = make_engine(url)
    try:
        SigninGuard(engine, Limits(account=1, address=1)).failed(account, address)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
async def site(
    dev_env: WorkflowEnvironment, case_record: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    """The form on loopback (single sign-on configured, so its pages show too), a live case,
    a live plan and a closed case that only the record holds, and one Chromium."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)")
    folder = tmp_path_factory.mktemp("every-page")
    target = dev_env.client.service_client.config.target_host
    namespace = dev_env.client.namespace

    async def client_factory() -> Client:
        return await Client.connect(
            target, namespace=namespace, data_converter=pydantic_data_converter
        )

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Never reached: the pages visited here do not ask the provider anything.
    provider = OidcSettings(
        issuer=f"http://127.0.0.1:{free_port()}",
        client_id="icpc-form",
        redirect_url=f"{base}{CALLBACK_PATH}",
        organisation="Example Council",
    )
    settings = settings_for(folder, signin_delay=0.0, oidc=provider)
    add_person(settings, ADMIN, "admin", name="Ada Admin")
    add_person(settings, SUPPORT, "business_support", name="Bea Support")
    add_person(settings, CODEC_SUPPORT, "support", name="Sid Support")
    add_person(
        settings,
        FAR_HEAD,
        "area_head_of_service",
        name="Fay Head",
        teams=["team-elsewhere"],
        areas=["area-elsewhere"],
    )
    add_person(settings, LOCKED, "team_manager", name="Lou Locked")
    lock_out(settings.people_url, LOCKED, "192.0.2.7")
    strategy = datetime.now(LONDON) - timedelta(days=20)
    closed = invented_summary(
        unique("EVP"),
        strategy=strategy,
        deadline=None,
        is_open=False,
        stage="withdrawn",
        closed_reason="icpc_withdrawn",
    )
    record_summaries(case_record, [closed])
    with pytest.MonkeyPatch.context() as patch, smtp_on_loopback(patch, folder):
        async with worker_and_cleanup(dev_env) as cases:
            case = await start_web_case(dev_env.client, "EVP")
            cases.append(case)
            plan = await start_plan(dev_env.client, TASK_QUEUE, datetime.now(LONDON))
            try:
                app = create_app(settings, client_factory)
                with serve_on_loopback(app, port, "uvicorn-every-page"):
                    async with async_playwright() as p:
                        browser = await p.chromium.launch(
                            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                        )
                        ids = {
                            "case": case.case_id,
                            "case_ref": case.reference,
                            "closed": closed.case_id,
                            "closed_ref": closed.case_reference,
                            "plan": plan.plan_id.removesuffix("-plan"),
                            "plan_ref": (await plan.state()).case_reference,
                        }
                        try:
                            yield Site(base, browser, ids)
                        finally:
                            await browser.close()
            finally:
                await plan.handle.terminate("test finished")


@pytest.mark.parametrize("visit", VISITS, ids=[v.name for v in VISITS])
async def test_the_page_is_accessible_at_both_widths(site: Site, visit: Visit) -> None:
    page = await site.page_for(visit.who)
    response = await page.goto(site.base + visit.path.format(**site.ids))
    assert response is not None and response.status == visit.status, visit.path
    if visit.press:
        for label, text in visit.fill.items():
            await page.get_by_label(label).fill(text)
        async with page.expect_navigation() as navigation:
            await page.get_by_role("button", name=visit.press, exact=True).click()
        answer = await navigation.value
        assert answer is not None and answer.status == visit.after, visit.press
        if visit.after == 400:  # the Design System's error summary, which takes the focus
            await expect(page.locator(".govuk-error-summary")).to_be_focused()
    heading = re.compile("^" + re.escape(visit.heading.format(**site.ids)))
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    if visit.kept:  # the Design System keeps what was typed, so that it can be corrected
        await expect(page.get_by_label(visit.kept[0])).to_have_value(visit.kept[1])
    if visit.shows:
        await expect(page.get_by_test_id(visit.shows)).to_be_visible()
    if visit.who is not None:  # everyone signed in has the procedures in the navigation
        menu = page.get_by_role("navigation", name="Menu")
        await expect(menu.get_by_role("link", name="Procedures", exact=True)).to_be_visible()
        marked = [
            (await a.text_content() or "").strip()
            for a in await menu.locator("[aria-current]").all()
        ]
        assert marked == ([visit.marked[0]] if visit.marked else []), marked
        if visit.marked:
            link = menu.get_by_role("link", name=visit.marked[0], exact=True)
            await expect(link).to_have_attribute("aria-current", visit.marked[1])
    await check_both_widths(page, visit.name)
