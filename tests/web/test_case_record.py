"""The web form reads the case record: every case, paged and filtered, soonest deadline first;
"Waiting for me" from the record; a case whose workflow Temporal has deleted still shows its
whole history; a record that cannot be reached gives a plain 503 page.

Real parts: the session's case record (SQLite), the Temporal dev server and its worker. Every
reference here is invented; each test filters by its own reference prefix (or its own role),
so the cases other tests record do not get in the way.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from domain.calendar import LONDON
from domain.case_record import CaseSummary
from records.store import RecordStore
from tests.case_helpers import describe_raw, is_running, unique
from tests.web.web_helpers import (
    PASSWORD,
    add_person,
    csrf_token,
    http_for,
    invented_summary,
    no_temporal,
    record_summaries,
    settings_for,
    sign_in,
    start_web_case,
    worker_and_cleanup,
)
from web.app import create_app

ROW = re.compile(r'<th scope="row"[^>]*><a href="(/cases/[^"]+)">([^<]+)</a></th>')
PROCEDURES = ("bct-management-note", "man13-qarss")
UNREACHABLE_RECORD = "postgresql+psycopg://x@127.0.0.1:1/none"


def linked(opening: str, text: str) -> Callable[[str], bool]:
    """Whether a page has a link opening so whose words begin with ``text`` (the pagination's
    links hold an icon and a span around their words)."""
    pattern = re.compile(re.escape(opening) + r"(?:\s|<svg.*?</svg>|<span[^>]*>)*" + text, re.S)
    return lambda html: pattern.search(html) is not None


def references(html: str) -> list[str]:
    return [reference for _, reference in ROW.findall(html)]


# --- every case: paged, ordered, filtered --------------------------------------------------------


def invented_cases(prefix: str) -> list[CaseSummary]:
    """120 cases: every tenth closed (half withdrawn, half held with no plan), the rest open
    with their deadlines in a shuffled order; two procedures, two months, two open stages."""
    hours = list(range(120))
    random.Random(47).shuffle(hours)
    soon = datetime(2026, 11, 2, 9, 0, tzinfo=LONDON)
    cases = []
    for i in range(120):
        closed = i % 10 == 0
        held = i % 20 == 10
        cases.append(
            invented_summary(
                f"{prefix}-{i:03d}",
                procedure_id=PROCEDURES[i % 2],
                strategy=datetime(2026, 9 if i < 60 else 10, 1 + i % 28, 10, 0, tzinfo=LONDON),
                deadline=soon + timedelta(hours=hours[i]),
                stage=("held" if held else "withdrawn")
                if closed
                else ("booked" if i % 3 == 0 else "awaiting_confirmation"),
                is_open=not closed,
                outcome="no_plan" if held else None,
                closed_reason=("no plan at the ICPC" if held else "ICPC withdrawn")
                if closed
                else None,
            )
        )
    return cases


async def test_cases_are_paged_soonest_deadline_first_and_filtered(
    tmp_path: Path, case_record: str
) -> None:
    prefix = unique("PG")
    cases = invented_cases(prefix)
    record_summaries(case_record, cases)
    by_deadline = [c.case_reference for c in sorted(cases, key=deadline_of)]
    open_in_order = [
        c.case_reference for c in sorted((c for c in cases if c.is_open), key=deadline_of)
    ]
    assert len(open_in_order) == 108 and by_deadline  # 12 of the 120 are closed

    def refs(*keep: str) -> set[str]:
        return {c.case_reference for c in cases if all(TESTS[name](c) for name in keep)}

    async with http_for(create_app(settings_for(tmp_path), no_temporal)) as http:
        await sign_in(http, "tess.manager", PASSWORD)

        # Page 1: 50 open cases, the soonest deadline first; found whatever the letter case.
        first = await http.get("/cases", params={"reference": prefix.upper()})
        assert first.status_code == 200
        assert references(first.text) == open_in_order[:50]
        assert "Showing 1 to 50 of 108 cases" in first.text
        assert "Previous" not in first.text
        assert linked(f'href="/cases?reference={prefix.upper()}&amp;page=2" rel="next">', "Next")(
            first.text
        )
        for number in (1, 2, 3):
            assert f'aria-label="Page {number}"' in first.text
        assert 'aria-label="Page 1" aria-current="page"' in first.text

        second = await http.get("/cases", params={"reference": prefix, "page": "2"})
        assert references(second.text) == open_in_order[50:100]
        assert linked('rel="prev">', "Previous")(second.text)
        assert linked('rel="next">', "Next")(second.text)

        third = await http.get("/cases", params={"reference": prefix, "page": "3"})
        assert references(third.text) == open_in_order[100:]
        assert "Showing 101 to 108 of 108 cases" in third.text
        assert linked('rel="prev">', "Previous")(third.text) and 'rel="next"' not in third.text
        # Past the last page: the last page.
        beyond = await http.get("/cases", params={"reference": prefix, "page": "9"})
        assert references(beyond.text) == open_in_order[100:]

        async def found(**params: str) -> set[str]:
            page = await http.get("/cases", params={"reference": prefix, **params})
            assert page.status_code == 200, page.text
            assert 'rel="next"' not in page.text, "the test expects one page here"
            return set(references(page.text))

        assert await found(stage="booked") == refs("open", "booked")
        assert await found(procedure="man13-qarss", month="2026-10") == refs(
            "open", "man13", "october"
        )
        closed = await http.get("/cases", params={"reference": prefix, "status": "closed"})
        assert set(references(closed.text)) == refs("closed")
        assert '<th scope="col" class="govuk-table__header">Closed</th>' in closed.text
        assert "ICPC withdrawn" in closed.text and "No plan at the ICPC" in closed.text
        assert await found(status="all", outcome="no_plan") == refs("no_plan")
        september = await http.get("/cases", params={"reference": prefix, "month": "2026-09"})
        assert "of 54 cases" in september.text  # 60 in September, 6 of them closed
        everything = await http.get("/cases", params={"reference": prefix, "status": "all"})
        assert "of 120 cases" in everything.text
        assert references(everything.text) == by_deadline[:50]  # closed ones (no deadline) last

        # A month that is not one: said next to its field; the rest of the search still applies.
        bad = await http.get("/cases", params={"reference": prefix, "month": "2026-13"})
        assert bad.status_code == 200
        assert "<title>Error: " in bad.text and 'href="#f-month"' in bad.text
        assert "Showing 1 to 50 of 108 cases" in bad.text
        nothing = await http.get("/cases", params={"reference": prefix + "-none"})
        assert "No cases match this search." in nothing.text


def soonest() -> datetime:
    return datetime.max.replace(tzinfo=LONDON)


def deadline_of(case: CaseSummary) -> datetime:
    return case.deadline or soonest()


TESTS: dict[str, Callable[[CaseSummary], bool]] = {
    "open": lambda c: c.is_open,
    "closed": lambda c: not c.is_open,
    "booked": lambda c: c.stage == "booked",
    "man13": lambda c: c.procedure_id == "man13-qarss",
    "october": lambda c: c.strategy_discussion.month == 10,
    "no_plan": lambda c: c.outcome == "no_plan",
}


# --- Waiting for me, from the record --------------------------------------------------------------


async def test_waiting_for_me_is_paged_from_the_record(tmp_path: Path, case_record: str) -> None:
    role = f"records_clerk_{uuid.uuid4().hex[:8]}"  # a role no other test's cases wait for
    settings = settings_for(tmp_path)
    add_person(settings, "rita.records", role, PASSWORD, "Rita Example")
    prefix = unique("WT")
    soon = datetime.now(LONDON) + timedelta(days=20)
    strategy = datetime.now(LONDON) - timedelta(days=2)
    mine = [
        invented_summary(
            f"{prefix}-{i:02d}",
            strategy=strategy,
            deadline=soon + timedelta(hours=(i * 7) % 55),
            awaiting_role=role,
        )
        for i in range(55)
    ]
    others = [
        invented_summary(f"{prefix}-other", strategy=strategy, deadline=soon),
        invented_summary(
            f"{prefix}-closed",
            strategy=strategy,
            deadline=None,
            is_open=False,
            awaiting_role=role,
            closed_reason="ICPC withdrawn",
        ),
    ]
    record_summaries(case_record, [*mine, *others])
    in_order = [c.case_reference for c in sorted(mine, key=deadline_of)]

    async with http_for(create_app(settings, no_temporal)) as http:
        await sign_in(http, "rita.records", PASSWORD)
        first = await http.get("/waiting")
        assert first.status_code == 200
        assert references(first.text) == in_order[:50]
        assert 'data-testid="not-live"' in first.text  # no case service: the record alone
        assert linked('href="/waiting?page=2" rel="next">', "Next")(first.text)
        second = await http.get("/waiting", params={"page": "2"})
        assert references(second.text) == in_order[50:]
        assert linked('href="/waiting" rel="prev">', "Previous")(second.text)


# --- a case Temporal has deleted ------------------------------------------------------------------


async def until_true(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.2)


async def test_a_case_deleted_from_temporal_is_read_from_the_record(
    dev_env: WorkflowEnvironment, smtp_server: object, tmp_path: Path, case_record: str
) -> None:
    client = dev_env.client

    async def client_factory() -> Client:
        return client

    app = create_app(settings_for(tmp_path), client_factory)
    async with worker_and_cleanup(dev_env) as cases, http_for(app) as http:
        case = await start_web_case(client, "RET")
        cases.append(case)
        await sign_in(http, "sol.worker", PASSWORD)
        page = await http.get(f"/cases/{case.case_id}")
        confirmed = await http.post(
            f"/cases/{case.case_id}/decisions/confirm_icpc",
            data={"csrf_token": csrf_token(page.text), "reason": "Checked with the team"},
        )
        assert confirmed.status_code == 303, confirmed.text
        page = await http.get(f"/cases/{case.case_id}")
        assert "ICPC confirmed" in page.text  # at once, even before the record has it
        withdrawn = await http.post(
            f"/cases/{case.case_id}/decisions/withdraw_icpc",
            data={"csrf_token": csrf_token(page.text), "reason": "Enquiries found no risk"},
        )
        assert withdrawn.status_code == 303, withdrawn.text

        store = RecordStore(case_record)

        async def closed_in_record() -> bool:
            summary = await asyncio.to_thread(store.summary, case.case_id)
            return summary is not None and not summary.is_open

        async def ended() -> bool:
            return not await is_running(client, case.case_id)

        await until_true(closed_in_record, "the record says the case is closed")
        await until_true(ended, "the case workflow has ended")
        recorded = await asyncio.to_thread(store.timeline, case.case_id)
        store.close()

        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=case.case_id),
            )
        )

        async def deleted() -> bool:
            try:
                await describe_raw(client, case.case_id)
            except RPCError as error:
                return error.status == RPCStatusCode.NOT_FOUND
            return False

        # The dev server deletes in the background: about half a minute here.
        await until_true(deleted, "Temporal no longer has the case", timeout=120)

        page = await http.get(f"/cases/{case.case_id}")
        assert page.status_code == 200, page.text
        text = page.text
        assert "This case is closed and kept in the case record; it takes no more decisions." in (
            text
        )
        timeline = text.split('data-testid="timeline"', 1)[1]
        assert len(re.findall(r"<tr[ >]", timeline)) == len(recorded) + 1  # with the heading row
        confirmed_row = timeline.split("ICPC confirmed", 1)[1].split("</tr>", 1)[0]
        assert "sol.worker (social worker)" in confirmed_row
        assert "Checked with the team" in confirmed_row
        assert "ICPC withdrawn" in timeline and "Enquiries found no risk" in timeline
        assert "Withdrawn" in text.split('data-testid="stage"', 1)[1].split("</dd>", 1)[0]
        assert "/decisions/" not in text  # no decision links
        assert (await http.get(f"/cases/{case.case_id}/decisions/confirm_icpc")).status_code == 404
        assert (await http.get(f"/cases/{case.case_id}/plan")).status_code == 404

        closed = await http.get("/cases", params={"status": "closed", "reference": case.reference})
        assert references(closed.text) == [case.reference]
        assert "ICPC withdrawn" in closed.text
        still_open = await http.get("/cases", params={"reference": case.reference})
        assert references(still_open.text) == []
        gone = await http.get(f"/cases/icpc-bct-management-note-{unique('NONE')}-20260105")
        assert gone.status_code == 404


# --- a record that cannot be reached --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/cases", "/cases?status=closed&reference=X", "/waiting"])
async def test_unreachable_records_give_a_plain_503_page(tmp_path: Path, path: str) -> None:
    settings = settings_for(tmp_path, record_url=UNREACHABLE_RECORD)
    async with http_for(create_app(settings, no_temporal)) as http:
        await sign_in(http, "tess.manager", PASSWORD)
        response = await http.get(path)
    assert response.status_code == 503
    text = response.text
    assert "<title>Sorry, the case records are temporarily unavailable" in text
    assert '<p data-testid="problem">Try again later.</p>' in text
    assert re.search(r"Waiting for me\s*</a>", text)  # the rest of the page as usual
    assert "Traceback" not in text and "127.0.0.1:1" not in text and "psycopg" not in text


async def test_a_running_case_shows_its_own_timeline_while_the_record_is_unreachable(
    dev_env: WorkflowEnvironment, smtp_server: object, tmp_path: Path
) -> None:
    async def client_factory() -> Client:
        return dev_env.client

    settings = settings_for(tmp_path, record_url=UNREACHABLE_RECORD)
    async with (
        worker_and_cleanup(dev_env) as cases,
        http_for(create_app(settings, client_factory)) as http,
    ):
        case = await start_web_case(dev_env.client, "NOREC")
        cases.append(case)
        await sign_in(http, "tess.manager", PASSWORD)
        page = await http.get(f"/cases/{case.case_id}")
        assert page.status_code == 200
        assert 'data-testid="record-note"' in page.text
        assert "Case opened" in page.text.split('data-testid="timeline"', 1)[1]
        assert "Request a delay" in page.text  # decisions are still offered
