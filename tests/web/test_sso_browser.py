"""Single sign-on in a real browser (Debian's Chromium, driven by Playwright): the web form under
uvicorn and the ``oidc-provider-mock`` provider, each on its own loopback port. Nia clicks
"Sign in with Example Council", signs in on the provider's own page, lands on "Waiting for me",
signs out, passes the provider's end-session page and comes back to the form's sign-in page.
The pages run with their Content-Security-Policy enforced, so the sign-out form's way on to
the provider is allowed by the policy itself; axe-core checks the form's pages (in a context
that lets it inject its script). Screenshots go to tests/artifacts/screenshots/.

Every name here is invented.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.web.test_browser import browser, check_accessibility, screenshot  # noqa: F401
from tests.web.test_sso import NIA, ORGANISATION, Sso, provider_server, sso_running

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


@pytest.fixture
def sso(tmp_path: Path) -> Iterator[Sso]:
    with provider_server() as provider, sso_running(tmp_path, provider) as running:
        running.user("nia-subject-1", preferred_username=NIA, name="Nia Patel")
        running.user("stranger-subject", preferred_username="stranger@council.example")
        yield running


async def test_single_sign_on_round_trip_in_the_browser(
    sso: Sso,
    browser: Browser,  # noqa: F811
) -> None:
    # The pages as they are, axe-core checked (it needs its script injected: CSP bypassed).
    checked = await (await browser.new_context(bypass_csp=True, locale="en-GB")).new_page()
    await checked.goto(f"{sso.form}/sign-in")
    await expect(checked.get_by_role("button", name=f"Sign in with {ORGANISATION}")).to_be_visible()
    await check_accessibility(checked, "sign-in page with single sign-on")
    await screenshot(checked, "20-sign-in-with-sso")
    await checked.get_by_role("button", name=f"Sign in with {ORGANISATION}").click()
    await checked.get_by_placeholder("sub").fill("stranger-subject")
    await checked.get_by_role("button", name="Authorize").click()
    await expect(checked.get_by_role("heading", level=1)).to_have_text(
        "You do not have an account for this form"
    )
    await check_accessibility(checked, "single sign-on refused")
    await screenshot(checked, "21-sso-refused")

    # The round trip, with the pages' Content-Security-Policy enforced.
    page = await (await browser.new_context(locale="en-GB")).new_page()
    await page.goto(f"{sso.form}/waiting")
    await expect(page).to_have_url(f"{sso.form}/sign-in?next=/waiting")
    await page.get_by_role("button", name=f"Sign in with {ORGANISATION}").click()
    await expect(page).to_have_url(re.compile(re.escape(f"{sso.provider}/oauth2/authorize?")))
    await page.get_by_placeholder("sub").fill("nia-subject-1")
    await page.get_by_role("button", name="Authorize").click()
    await expect(page).to_have_url(f"{sso.form}/waiting")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Waiting for me")
    await expect(page.get_by_text("Signed in as Nia Patel (team manager)")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(re.escape(f"{sso.provider}/oauth2/end_session?")))
    await page.get_by_role("button", name="End session").click()
    await expect(page).to_have_url(f"{sso.form}/sign-in")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    await page.goto(f"{sso.form}/waiting")
    await expect(page).to_have_url(f"{sso.form}/sign-in?next=/waiting")
