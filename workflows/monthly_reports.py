"""The monthly out-of-timescale emails, as a workflow a Temporal Schedule starts (001 steps 16
and 20).

A thin shell: one activity does the work (:mod:`activities.monthly_reports`: is today the
first working day of the month, the lists per area, the emails, each at most once). The
schedule (``workers.schedules``) starts it at 07:00 London time on days 1 to 7 of each month
with no month; run it by hand with a month (``MonthlyReportsInput(month="2026-10")``) to send
or re-send that month's lists: what was sent already is not sent again.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.monthly_reports import (
        MonthlyReportsInput,
        MonthlyReportsResult,
        send_monthly_out_of_timescale,
    )

MONTHLY_REPORTS_WORKFLOW = "IcpcMonthlyReports"
SEND_TIMEOUT = timedelta(minutes=30)  # hundreds of emails, on a slow server
HEARTBEAT_TIMEOUT = timedelta(minutes=2)  # one message with the server, at most
RETRY = RetryPolicy(
    initial_interval=timedelta(minutes=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(hours=1),
    maximum_attempts=12,  # about half a day: a mail server down all morning still delivers
    non_retryable_error_types=["BadMonth", "MailSettingsInvalid"],
)


@workflow.defn(name=MONTHLY_REPORTS_WORKFLOW)
class MonthlyReportsWorkflow:
    @workflow.run
    async def run(self, request: MonthlyReportsInput) -> MonthlyReportsResult:
        return await workflow.execute_activity(
            send_monthly_out_of_timescale,
            request,
            start_to_close_timeout=SEND_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RETRY,
        )
