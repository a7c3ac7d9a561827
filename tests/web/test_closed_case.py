"""A decision form on a case that has closed says how and when it closed, in the words the
command line uses, instead of Temporal's "workflow execution already completed"."""

from __future__ import annotations

from datetime import datetime

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.calendar import LONDON
from tests.case_helpers import decision
from tests.web.conftest import PASSWORD, open_case
from tests.web.test_security import make_app
from tests.web.web_helpers import csrf_token, post_sign_in
from web.settings import Settings


async def test_a_decision_on_a_closed_case_says_how_and_when_it_closed(
    web_settings: Settings, dev_env: WorkflowEnvironment, web_worker: Worker
) -> None:
    case = await open_case(dev_env, web_worker)
    try:
        await case.signal(decision(case.proc, "withdraw_icpc", reason="No longer needed"))
        await case.result()
        today = datetime.now(LONDON)
        sentence = (
            f"This case is closed (withdrawn on {today.day} {today:%B %Y}):"
            " it takes no more decisions."
        )
        async with make_app(web_settings, dev_env.client) as http:
            assert (await post_sign_in(http, "sworker", PASSWORD)).status_code == 303
            path = f"/cases/{case.handle.id}/decisions/confirm_icpc"
            form = await http.get(path)
            assert form.status_code == 409 and sentence in form.text
            token = csrf_token((await http.get(f"/cases/{case.handle.id}")).text)
            response = await http.post(path, data={"csrf_token": token, "reason": "late"})
            assert response.status_code == 409 and sentence in response.text
            assert "workflow execution" not in response.text
    finally:
        await case.clean_up()
