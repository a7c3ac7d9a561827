"""Accounts in a real browser (Debian's Chromium, driven by Playwright, against uvicorn): an
administrator adds an account, is told plainly that a common password will not do, changes
the person's roles and disables them; the person, signed in in another browser, is signed out
on their next click. Every page is checked with axe-core; screenshots go to
tests/artifacts/screenshots/.

Every name here is invented.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.client import Client

from domain.passwords import TOO_COMMON
from domain.wording import capitalised
from tests.conftest import free_port
from tests.web.test_browser import browser, check_accessibility, screenshot  # noqa: F401
from tests.web.web_helpers import PASSWORD, add_person, serve_on_loopback, settings_for
from web.app import create_app

NEW_PASSWORD = "plum tractor umbrella"
CHOSEN = "her own kettle words"  # the one Nia chooses for herself


async def no_temporal() -> Client:
    raise ConnectionError("no case service in this test")


@pytest.fixture
def accounts_server(tmp_path: Path) -> Iterator[str]:
    settings = settings_for(tmp_path, signin_delay=0.0)
    add_person(settings, "ada.admin", ["admin"], PASSWORD, "Ada Admin")
    app = create_app(settings, no_temporal)
    port = free_port()
    with serve_on_loopback(app, port, "uvicorn-accounts") as base:
        yield base


async def signed_in(
    chromium: Browser,
    base: str,
    user: str,
    password: str = PASSWORD,
    first_page: str = "Waiting for me",
) -> Page:
    page = await (await chromium.new_context(bypass_csp=True, locale="en-GB")).new_page()
    await page.goto(f"{base}/sign-in")
    await page.get_by_label("Sign-in id").fill(user)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(first_page)
    return page


async def test_an_administrator_manages_an_account_in_the_browser(
    accounts_server: str,
    browser: Browser,  # noqa: F811
) -> None:
    base = accounts_server
    admin = await signed_in(browser, base, "ada.admin")
    await admin.get_by_role("link", name="Accounts", exact=True).click()
    await expect(admin.get_by_role("heading", level=1)).to_have_text("Accounts")
    await check_accessibility(admin, "accounts list")
    await screenshot(admin, "10-accounts")

    await admin.get_by_role("button", name="Add an account").click()
    await admin.get_by_label("Sign-in id").fill("nia.new")
    await admin.get_by_label("Full name").fill("Nia New")
    await admin.get_by_label("Team manager (team_manager)").check()
    await admin.get_by_label("Teams").fill("north-1")
    await admin.get_by_label("Temporary password").fill("Password123")
    await admin.get_by_role("button", name="Add the account").click()
    await expect(admin.get_by_role("alert")).to_contain_text(capitalised(TOO_COMMON))
    await check_accessibility(admin, "add an account, with an error")
    await screenshot(admin, "11-account-common-password")

    await admin.get_by_label("Temporary password").fill(NEW_PASSWORD)
    await admin.get_by_role("button", name="Add the account").click()
    await expect(admin.get_by_test_id("notice")).to_contain_text("Account nia.new added.")
    await check_accessibility(admin, "one account")
    await screenshot(admin, "12-account")

    # The password was temporary: she chooses her own before anything else.
    nia = await signed_in(browser, base, "nia.new", NEW_PASSWORD, "Change your password")
    await check_accessibility(nia, "change your password")
    await nia.get_by_label("Current password", exact=True).fill(NEW_PASSWORD)
    await nia.get_by_label("New password", exact=True).fill(CHOSEN)
    await nia.get_by_label("Confirm your new password", exact=True).fill(CHOSEN)
    await nia.get_by_role("button", name="Change your password").click()
    await expect(nia.get_by_test_id("notice")).to_contain_text("Your password is changed.")
    await nia.get_by_role("link", name="Go to the cases waiting for you").click()
    await expect(nia.get_by_text("Signed in as Nia New (team manager)")).to_be_visible()

    # Another role: Nia sees it on her next page.
    await admin.get_by_label("Team manager (team_manager)").uncheck()
    await admin.get_by_label("Social worker (social_worker)").check()
    await admin.get_by_role("button", name="Save changes").click()
    await expect(admin.get_by_test_id("notice")).to_contain_text("is changed")
    await nia.reload()
    await expect(nia.get_by_text("Signed in as Nia New (social worker)")).to_be_visible()

    # Disabled: her next click lands on the sign-in page, and signing in is refused.
    await admin.get_by_role("button", name="Disable the account").click()
    await expect(admin.get_by_test_id("status")).to_have_text("Disabled")
    await nia.get_by_role("link", name="All cases", exact=True).click()
    await expect(nia.get_by_role("heading", level=1)).to_have_text("Sign in")
    await nia.get_by_label("Sign-in id").fill("nia.new")
    await nia.get_by_label("Password").fill(CHOSEN)
    await nia.get_by_role("button", name="Sign in").click()
    await expect(nia.get_by_role("alert")).to_contain_text("This account is disabled")
    await check_accessibility(nia, "sign-in refused for a disabled account")
