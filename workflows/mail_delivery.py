"""Sending a case's emails from workflow code: until delivered, and never silently failing.

Shared by the case and plan workflows. Each round makes a few quick attempts (the activity's
retry policy); between rounds the workflow pauses on a named timer and shows
``IcpcDeliveryFailing = true``, so support staff can find cases whose mail keeps failing.

Cases started from this release (``MAIL_PATCH``):

- the send activity has a heartbeat timeout of ``MAIL_HEARTBEAT`` (10 s). It heartbeats before
  each message and every 2 s while one is with the server, so a worker that dies mid-send is
  noticed within 10 s and the batch is retried on another worker (after the retry policy's
  5 s), where the ledger skips what went out. Before, nothing was noticed until the 2-minute
  time limit. 10 s because the SDK sends heartbeats at most every 0.8 × the timeout (8 s): a
  smaller timeout would leave a busy worker's event loop no slack, a larger one only delays
  the retry;
- the pause between rounds backs off (1, 2, 4, then every 5 minutes: ``MAIL_PAUSE_CEILING``)
  instead of a fixed 30 minutes, so mail goes out within minutes of the server coming back;
- a decision (or a milestone) that queues email of its own while the batch before it is
  paused wakes the pause: the next round starts at once and sends the waiting emails first,
  then the stalled batch. A decision's email never waits behind a stalled invitation batch
  longer than it takes the server to accept it; the ledger skips it when its own turn comes;
- while paused, the case counts as settled for the case record, which therefore says "email
  failing" (``CaseSummary.email_failing``) while the mail waits, and a timeline entry says
  when it goes out again.

Cases started before keep the old commands (no heartbeat timeout, fixed pauses) on replay.
"""

from __future__ import annotations

import contextlib
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
MAIL_PAUSE = timedelta(minutes=30)  # cases started before MAIL_PATCH

MAIL_PATCH = "mail-heartbeat-backoff"
MAIL_HEARTBEAT = timedelta(seconds=10)
MAIL_FIRST_PAUSE = timedelta(minutes=1)
MAIL_PAUSE_CEILING = timedelta(minutes=5)
PAUSE_SUMMARY = "Pause before sending email again"


def pause_after(rounds_failed: int) -> timedelta:
    """The pause after the ``rounds_failed``-th failed round (1-based): doubling to the ceiling."""
    doubled = MAIL_FIRST_PAUSE * (1 << min(max(rounds_failed - 1, 0), 16))
    return min(doubled, MAIL_PAUSE_CEILING)


class MailDelivery:
    def __init__(
        self,
        on_change: Callable[[bool], None],
        waiting: Callable[[], list[OutgoingEmail]] = list,
    ) -> None:
        # Told when delivery starts or stops failing (to record it and update the UI).
        self._on_change = on_change
        # The emails queued behind the batch being sent (a decision's, a milestone's).
        self._waiting = waiting
        self.failing = False
        self.paused = False  # between rounds, waiting for the next (MAIL_PATCH only)
        self._wake = False
        self._patched: bool | None = None

    @property
    def backs_off(self) -> bool:
        """This path sends the MAIL_PATCH way (known from its first email on)."""
        return bool(self._patched)

    def wake(self) -> None:
        """New email is waiting: end the pause now (if paused) and try again at once."""
        self._wake = True

    async def send(self, emails: list[OutgoingEmail]) -> None:
        if self._patched is None:
            self._patched = workflow.patched(MAIL_PATCH)
        if not self._patched:
            await self._send_with_fixed_pauses(emails)
            return
        rounds_failed = 0
        self._wake = False  # from here on: email queued behind this batch
        while emails:
            try:
                await workflow.execute_activity(
                    send_emails,
                    emails,
                    start_to_close_timeout=MAIL_TIMEOUT,
                    heartbeat_timeout=MAIL_HEARTBEAT,
                    retry_policy=MAIL_RETRY,
                    summary=f"Send {len(emails)} email(s)",
                )
            except ActivityError:
                self._set(True)
                rounds_failed += 1
                if await self._pause(pause_after(rounds_failed)):
                    emails = self._waiting_first(emails)
                continue
            self._set(False)
            return

    async def _pause(self, pause: timedelta) -> bool:
        """Sleep ``pause``, or less if email is queued behind the batch (now, or while the
        round that failed was trying); True if so."""
        self.paused = True
        try:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._wake, timeout=pause, timeout_summary=PAUSE_SUMMARY
                )
        finally:
            self.paused = False
        woken, self._wake = self._wake, False
        return woken

    def _waiting_first(self, emails: list[OutgoingEmail]) -> list[OutgoingEmail]:
        """The queued emails, then this batch (each key once)."""
        keys = {e.idempotency_key for e in emails}
        ahead: list[OutgoingEmail] = []
        for email in self._waiting():
            if email.idempotency_key not in keys:
                keys.add(email.idempotency_key)
                ahead.append(email)
        return [*ahead, *emails]

    async def _send_with_fixed_pauses(self, emails: list[OutgoingEmail]) -> None:
        """As cases started before MAIL_PATCH do (their histories replay these commands)."""
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
                await workflow.sleep(MAIL_PAUSE, summary=PAUSE_SUMMARY)
                continue
            self._set(False)
            return

    def _set(self, failing: bool) -> None:
        if failing != self.failing:
            self.failing = failing
            self._on_change(failing)
