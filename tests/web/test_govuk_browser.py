"""The GOV.UK Design System's own components in a real browser (Debian's Chromium, Playwright,
axe-core), on a real case on the Temporal dev server.

Every page visited is checked at 1280 px and at 320 px wide: no serious or critical axe
violation, and no sideways scrolling (WCAG 2.2 reflow). The error summary and the date input
behave as the Design System documents (the summary takes the focus, its links go to the
fields, to the day box for a date); the convening sheet adds and removes invitees on the
server, without JavaScript, and three invitees with safety notes reach the case page; the case
page's timeline chart says what its table says.
"""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.web.test_browser import (  # noqa: F401
    browser,
    check_accessibility,
    screenshot,
    sign_in,
    web_server,
)
from tests.web.web_helpers import WebCase, start_web_case, worker_and_cleanup

WIDE, NARROW = 1280, 320
ERROR_BOX = re.compile(r"\bgovuk-input--error\b")


async def check_both_widths(page: Page, what: str) -> None:
    """axe and reflow at 1280 px and at 320 px; the page is left at 1280 px."""
    for width in (WIDE, NARROW):
        await page.set_viewport_size({"width": width, "height": 900})
        await check_accessibility(page, f"{what} at {width} px")
        scroll, inner = await page.evaluate(
            "[document.scrollingElement.scrollWidth, window.innerWidth]"
        )
        assert scroll <= inner, f"{what} scrolls sideways at {width} px: {scroll} > {inner}"
        if width == NARROW:
            await screenshot(page, f"govuk-{what.replace(' ', '-')}-320")
    await page.set_viewport_size({"width": WIDE, "height": 900})


async def focused_id(page: Page) -> str:
    return str(await page.evaluate("document.activeElement.id"))


async def summary_has_focus(page: Page) -> bool:
    return bool(
        await page.evaluate(
            "document.activeElement.classList.contains('govuk-error-summary')"
            " || !!document.activeElement.closest('.govuk-error-summary')"
        )
    )


async def fill_invitee(page: Page, row: int, name: str, role: str, notes: str) -> None:
    group = page.get_by_role("group", name=f"Invitee {row}")
    await group.get_by_label("Full name").fill(name)
    await group.get_by_label("Role or relationship to the child").fill(role)
    await group.get_by_label("Email address").fill(f"{name.split()[0].lower()}@example.org")
    await group.get_by_label("Safety notes (optional)").fill(notes)


async def test_design_system_pages_dates_invitees_and_the_case_chart(
    dev_env: WorkflowEnvironment,
    smtp_server: object,
    web_server: str,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    base = web_server
    async with worker_and_cleanup(dev_env) as cases:
        case: WebCase = await start_web_case(dev_env.client, "GOV")
        cases.append(case)
        proposed = await case.proposed_delay_date(7)

        # --- business support: the convening sheet, three invitees ---------------------------
        cora = await (await browser.new_context(bypass_csp=True, locale="en-GB")).new_page()
        await cora.goto(f"{base}/waiting")
        await check_both_widths(cora, "sign in")
        await sign_in(cora, base, "cora.cpservice")
        await check_both_widths(cora, "waiting for me")
        await cora.get_by_role("link", name="All cases", exact=True).click()
        await check_both_widths(cora, "all cases")
        sheet = f"{base}/cases/{case.case_id}/decisions/receive_convening_sheet"
        await cora.goto(sheet)
        await check_both_widths(cora, "convening sheet")

        # Nothing typed: the error summary takes the focus and links to the first name.
        await cora.get_by_role("button", name="Send decision").click()
        await expect(cora.locator(".govuk-error-summary")).to_be_visible()
        assert await summary_has_focus(cora)
        await check_both_widths(cora, "convening sheet with errors")
        await (
            cora.locator(".govuk-error-summary")
            .get_by_role("link", name="Enter the full name of at least one invitee")
            .click()
        )
        assert await focused_id(cora) == "f-invitee1_name"

        people = [
            ("Alex Example", "Mother", "Do not share her address with the father"),
            ("Bo Example", "Father", "Must not attend at the same time as the mother"),
            ("Cam Teacher", "Class teacher", "None known"),
        ]
        for row, person in enumerate(people, start=1):
            await fill_invitee(cora, row, *person)
            await cora.get_by_role("button", name="Add another invitee").click()
            await expect(cora.get_by_role("group", name=f"Invitee {row + 1}")).to_be_visible()
            # what was typed comes back with the new row
            await expect(
                cora.get_by_role("group", name=f"Invitee {row}").get_by_label("Full name")
            ).to_have_value(person[0])
        await check_both_widths(cora, "convening sheet with four rows")
        # The fourth row is not needed: removed, the others stay.
        await cora.get_by_role("button", name="Remove invitee 4").click()
        await expect(cora.get_by_role("group", name="Invitee 4")).to_have_count(0)
        await expect(
            cora.get_by_role("group", name="Invitee 3").get_by_label("Full name")
        ).to_have_value("Cam Teacher")
        await cora.get_by_role("button", name="Send decision").click()
        await expect(cora.get_by_test_id("accepted")).to_be_visible()
        invitees = cora.get_by_test_id("invitee")
        await expect(invitees).to_have_count(3)
        for n, (_, _, notes) in enumerate(people):
            await expect(invitees.nth(n).get_by_test_id("safety-notes")).to_have_text(notes)
        await check_both_widths(cora, "case page with invitees")

        # --- a team manager: the date input's errors -----------------------------------------
        tess = await (await browser.new_context(bypass_csp=True, locale="en-GB")).new_page()
        await sign_in(tess, base, "tess.manager")
        delay = f"{base}/cases/{case.case_id}/decisions/request_delay"
        await tess.goto(delay)
        date = tess.get_by_role("group", name="Proposed date of the conference")
        await date.get_by_label("Month").fill(str(proposed.month))
        await tess.get_by_label("Why is a delay needed?").fill("The school cannot attend")
        await tess.get_by_role("button", name="Send decision").click()
        summary = tess.locator(".govuk-error-summary")
        await expect(summary).to_be_visible()
        assert await summary_has_focus(tess)
        await expect(summary).to_contain_text("Enter how the child will be kept safe until then")
        await check_both_widths(tess, "request a delay with errors")
        # Only the boxes in error are marked; the link goes to the first of them, the day.
        day, month = date.get_by_label("Day"), date.get_by_label("Month")
        await expect(day).to_have_class(ERROR_BOX)
        await expect(month).not_to_have_class(ERROR_BOX)
        await expect(month).to_have_value(str(proposed.month))
        await summary.get_by_role(
            "link", name="Proposed date of the conference must include a day and year"
        ).click()
        assert await focused_id(tess) == "f-proposed_date-day"
        # Not a real date: every box is marked.
        await day.fill("31")
        await date.get_by_label("Month").fill("2")
        await date.get_by_label("Year").fill(str(proposed.year))
        await tess.get_by_label("How will the child be kept safe until then?").fill("Daily visits")
        await tess.get_by_role("button", name="Send decision").click()
        await expect(summary).to_contain_text("Proposed date of the conference must be a real date")
        await expect(date.get_by_label("Month")).to_have_class(ERROR_BOX)
        await day.fill(str(proposed.day))
        await date.get_by_label("Month").fill(str(proposed.month))
        await tess.get_by_role("button", name="Send decision").click()
        await expect(tess.get_by_test_id("accepted")).to_contain_text("Delay requested")

        # --- the case page's chart says what its table says ----------------------------------
        chart = tess.get_by_test_id("case-chart")
        await expect(chart).to_have_attribute("role", "img")
        labelled = (await chart.get_attribute("aria-labelledby") or "").split()
        assert len(labelled) == 2
        for part in labelled:
            assert (await tess.locator(f"[id='{part}']").text_content() or "").strip()
        drawn = await tess.evaluate(
            """[...document.querySelectorAll('[data-testid=case-chart] [data-kind=milestone]')]
               .map(g => [g.dataset.title, g.dataset.status])"""
        )
        tabled = await tess.evaluate(
            """[...document.querySelectorAll('[data-testid=milestones] tbody tr')]
               .map(r => [r.querySelector('th').textContent.trim(),
                          r.querySelector('.govuk-tag').textContent.trim()])"""
        )
        assert drawn == tabled and drawn
        await expect(chart.locator("[data-kind=delay]")).to_have_attribute("data-status", "pending")
        await check_both_widths(tess, "case page with a chart")
