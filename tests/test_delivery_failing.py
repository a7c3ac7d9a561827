"""A mail server that keeps failing is flagged on the case (IcpcDeliveryFailing), and the case
keeps trying until the mail goes out: nothing is lost."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from temporalio.converter import decode_typed_search_attributes
from temporalio.testing import WorkflowEnvironment

from contracts import search_attributes as sa
from domain.calendar import LONDON, london_instant
from tests.case_helpers import case_start, describe_raw, procedure, start_case_workflow, unique
from tests.conftest import MailCatcher, free_port
from workers.main import build_worker


async def delivery_failing(env: WorkflowEnvironment, workflow_id: str) -> bool | None:
    raw = await describe_raw(env.client, workflow_id)
    attributes = decode_typed_search_attributes(raw.workflow_execution_info.search_attributes)
    return attributes.get(sa.DELIVERY_FAILING)


async def test_failing_mail_is_flagged_then_sent_once_the_server_is_back(
    time_skipping_env: WorkflowEnvironment,
    smtp_server: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = time_skipping_env
    proc = procedure("bct-management-note")
    monkeypatch.setenv("ICPC_SMTP_PORT", str(free_port()))  # nothing listens there
    task_queue = unique("delivery")
    now = (await env.get_current_time()).astimezone(LONDON)
    # Registered ten working days late: escalations are due at once.
    strategy = london_instant(proc.calendar.add_working_days(now.date(), -10), time(9, 30))
    start = case_start(proc, strategy, reference=unique("DLV"))
    async with build_worker(env.client, task_queue):
        handle = await start_case_workflow(env.client, start, proc, task_queue)
        try:
            await env.sleep(timedelta(minutes=10))  # five quick attempts fail, then a pause
            assert await delivery_failing(env, handle.id) is True
            assert not smtp_server.messages

            monkeypatch.setenv("ICPC_SMTP_PORT", str(smtp_server.port))  # the server is back
            await env.sleep(timedelta(minutes=30))
            assert await delivery_failing(env, handle.id) is False
            subjects = smtp_server.subjects()
            # The start notice (000 action 3), then each overdue milestone: all sent once.
            assert "Section 47 strategy discussion: ICPC likely" in subjects[0]
            assert subjects[1:] and all("OVERDUE" in s for s in subjects[1:])
            assert len(subjects) == len(set(subjects))
            state = await handle.query("state")
            events = [entry["event"] for entry in state["timeline"]]
            assert events.count("delivery_failing") == 1
        finally:
            await handle.terminate("test finished")
