"""The product's Temporal Schedules, created by the worker as it starts: once, whatever happens.

``icpc-monthly-reports`` starts :class:`workflows.monthly_reports.MonthlyReportsWorkflow` at
07:00 Europe/London on days 1 to 7 of every month. A schedule knows weekends but not bank
holidays or an authority's closure days, so it fires on each of the first seven days and the
activity sends only on the first working day of the month by each procedure's calendar (the
first working day always falls within them): the other runs end at once, having sent nothing.

Created idempotently (:func:`ensure_schedules`): the id is fixed, and a schedule that already
exists is left exactly as it is, so every worker that starts may call it and a schedule that
an operator paused in the Temporal Web UI stays paused. Its id, memo and workflow id hold no
personal data: names of the product's own things only.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError

from activities.monthly_reports import MonthlyReportsInput, MonthlyReportsResult
from runtime.log_setup import get_logger
from workflows.monthly_reports import MONTHLY_REPORTS_WORKFLOW

MONTHLY_REPORTS_SCHEDULE = "icpc-monthly-reports"
MONTHLY_REPORTS_WORKFLOW_ID = "icpc-monthly-reports"  # the schedule adds each run's time
TIME_ZONE = "Europe/London"
NOTE = (
    "001 steps 16 and 20: last month's out-of-timescale ICPC and RCPC lists, emailed to each"
    " area's managers on the first working day of the month (runs on days 1-7 at 07:00;"
    " only the first working day sends). Pause here to stop the emails."
)


def monthly_reports_schedule(task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MONTHLY_REPORTS_WORKFLOW,
            MonthlyReportsInput(),
            id=MONTHLY_REPORTS_WORKFLOW_ID,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_month=[ScheduleRange(1, 7)],
                    hour=[ScheduleRange(7)],
                    minute=[ScheduleRange(0)],
                    second=[ScheduleRange(0)],
                    comment="days 1-7 at 07:00: the activity sends on the first working day",
                )
            ],
            time_zone_name=TIME_ZONE,
        ),
        # A run still sending (a slow mail server) is not doubled; a missed run (the cluster
        # down at 07:00) still runs within a day.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP,
            catchup_window=timedelta(days=1),
            pause_on_failure=False,
        ),
        state=ScheduleState(note=NOTE),
    )


async def ensure_schedules(client: Client, task_queue: str) -> list[str]:
    """Create the product's schedules that do not exist yet; returns the ids created now.
    One that exists is left as it is (its spec, and whether it is paused)."""
    created = []
    log = get_logger()
    try:
        await client.create_schedule(
            MONTHLY_REPORTS_SCHEDULE,
            monthly_reports_schedule(task_queue),
            memo={"purpose": "monthly out-of-timescale lists (001 steps 16 and 20)"},
        )
        created.append(MONTHLY_REPORTS_SCHEDULE)
    except ScheduleAlreadyRunningError:
        pass
    except RPCError as error:  # no right to create schedules here: the cases still run
        log.warning(
            "schedule_not_created",
            schedule_id=MONTHLY_REPORTS_SCHEDULE,
            status=error.status.name,
            message=error.message,
        )
    for schedule_id in created:
        log.info("schedule_created", schedule_id=schedule_id, task_queue=task_queue)
    return created


async def send_monthly_now(client: Client, month: str, task_queue: str) -> MonthlyReportsResult:
    """Send ``month``'s (YYYY-MM) lists now, whatever the day: the schedule's workflow and its
    activity, started by hand with a month and waited for. The same ledger as the schedule's
    runs, so what was sent already is not sent again. Whether the month may be sent (it is
    over, or an administrator forces it) is the caller's to decide: the service's
    (``POST /api/v1/reports/monthly/send``)."""
    result: MonthlyReportsResult = await client.execute_workflow(
        MONTHLY_REPORTS_WORKFLOW,
        MonthlyReportsInput(month=month),
        id=f"{MONTHLY_REPORTS_WORKFLOW_ID}-{month}-by-hand-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        result_type=MonthlyReportsResult,
    )
    return result
