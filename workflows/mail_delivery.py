"""Sending a case's emails from workflow code: until delivered, and never silently failing.

Shared by the case and plan workflows. Each round makes a few quick attempts (the activity's
retry policy); between rounds the workflow pauses on a named timer and shows
``IcpcDeliveryFailing = true``, so support staff can find cases whose mail keeps failing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.mail import send_emails
    from domain.outbox import OutgoingEmail

MAIL_TIMEOUT = timedelta(minutes=2)
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=1), maximum_attempts=5
)
MAIL_PAUSE = timedelta(minutes=30)


class MailDelivery:
    def __init__(self, on_change: Callable[[bool], None]) -> None:
        # Told when delivery starts or stops failing (to record it and update the UI).
        self._on_change = on_change
        self.failing = False

    async def send(self, emails: list[OutgoingEmail]) -> None:
        while emails:
            try:
                await workflow.execute_activity(
                    send_emails,
                    emails,
                    start_to_close_timeout=MAIL_TIMEOUT,
                    retry_policy=MAIL_RETRY,
                    summary=f"Send {len(emails)} email(s)",
                )
            except ActivityError:
                self._set(True)
                await workflow.sleep(MAIL_PAUSE, summary="Pause before sending email again")
                continue
            self._set(False)
            return

    def _set(self, failing: bool) -> None:
        if failing != self.failing:
            self.failing = failing
            self._on_change(failing)
