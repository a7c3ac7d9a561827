"""Record the history of a case whose mail server went down, for the replay tests:
``.venv/bin/python -m tests.histories.record_mail``.

It guards the ``mail-heartbeat-backoff`` way of sending (``workflows.mail_delivery``): the send
activity with its heartbeat timeout, failed rounds with pauses that back off, a decision's email
waking a pause and going out first, the timeline's "delivery failing" and "delivery restored",
and the case record written while the mail waits. The main paths (``record.py``) do not fail
their mail, so they never reach these commands. Invented test data only.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from contracts.case import DECIDE_SIGNAL, DecisionRequest
from domain.calendar import LONDON
from tests.case_helpers import book, decision, invitees, procedure, start_running_case, unique
from tests.conftest import TEST_SERVER, MailCatcher, free_port, register_search_attributes
from tests.test_faults_smtp_down import Sink, until_delivered, until_paused
from workers.main import build_worker

HERE = Path(__file__).resolve().parent
NAME = "case_mail_failing.json"


async def record(env: WorkflowEnvironment, sink: Sink, out: Path) -> Path:
    proc = procedure("bct-management-note")
    queue = unique("record-mail")
    async with build_worker(env.client, task_queue=queue):
        now = (await env.get_current_time()).astimezone(LONDON)
        case = await start_running_case(env, proc, now - timedelta(minutes=10), queue, "REC-MAIL")
        state = await case.signal(decision(proc, "confirm_icpc"))
        await case.signal(decision(proc, "receive_convening_sheet", invitees=invitees(2)))
        sink.stop()
        day = state.calendar.add_working_days(state.strategy_day, 12)
        await case.handle.signal(DECIDE_SIGNAL, DecisionRequest(decision=book(proc, day)))
        await env.sleep(timedelta(minutes=4))  # two rounds fail: pauses of 1 and 2 minutes
        await until_paused(case, env)
        sink.start()
        later = state.calendar.add_working_days(state.strategy_day, 18)
        delay = decision(
            proc,
            "request_delay",
            reason="Agency report late",
            proposed_date=later.isoformat(),
            safety_plan="Daily contact",
        )
        sent = len(sink.catcher.messages)
        await case.handle.signal(DECIDE_SIGNAL, DecisionRequest(decision=delay))
        await until_delivered(sink, sent + 3)  # the delay's notice first, then two invitations
        await case.settle()
        await case.signal(decision(proc, "withdraw_icpc", reason="No longer needed"))
        await case.result()
        history = await case.handle.fetch_history()
    path = out / NAME
    data = {"workflowId": case.handle.id, **json.loads(history.to_json())}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


async def main(out: Path = HERE) -> None:
    sink = Sink(MailCatcher(host="127.0.0.1", port=free_port()))
    sink.start()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["ICPC_SMTP_HOST"] = sink.catcher.host
        os.environ["ICPC_SMTP_PORT"] = str(sink.catcher.port)
        os.environ.pop("ICPC_OUTBOX_DB", None)
        os.environ["ICPC_DATABASE_URL"] = f"sqlite:///{Path(scratch) / 'records.sqlite3'}"
        os.environ["ICPC_PAYLOAD_ENCRYPTION"] = "off"
        os.environ.pop("ICPC_PAYLOAD_KEY", None)
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
        )
        try:
            await register_search_attributes(env.client)
            print(await record(env, sink, out))
        finally:
            await env.shutdown()
            sink.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
