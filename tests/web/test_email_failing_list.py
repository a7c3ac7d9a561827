"""The web form's case list says "Email failing" for a case whose email keeps failing (the case
record's summary says so while the case's mail waits for the server), and only while it does."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from domain.calendar import LONDON
from tests.case_helpers import unique
from tests.web.test_case_record import http_for, no_temporal, references
from tests.web.web_helpers import (
    PASSWORD,
    invented_summary,
    record_summaries,
    settings_for,
    sign_in,
)
from web.app import create_app


async def test_the_case_list_says_email_failing(tmp_path: Path, case_record: str) -> None:
    prefix = unique("EF")
    soon = datetime.now(LONDON).replace(microsecond=0) + timedelta(days=3)
    failing, fine = (
        invented_summary(
            f"{prefix}-{n}",
            strategy=soon - timedelta(days=10),
            deadline=soon + timedelta(hours=n),
        ).model_copy(update={"email_failing": n == 1})
        for n in (1, 2)
    )
    record_summaries(case_record, [failing, fine])
    async with http_for(create_app(settings_for(tmp_path), no_temporal)) as http:
        await sign_in(http, "tess.manager", PASSWORD)
        page = await http.get("/cases", params={"reference": prefix})
        assert page.status_code == 200
        assert references(page.text) == [failing.case_reference, fine.case_reference]
        rows = page.text.split('<th scope="row" class="govuk-table__header">')[1:]
        assert "Email failing" in rows[0] and "Email failing" not in rows[1]

        record_summaries(case_record, [failing.model_copy(update={"email_failing": False})])
        again = await http.get("/cases", params={"reference": prefix})
        assert "Email failing" not in again.text
