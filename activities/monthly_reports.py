"""The monthly out-of-timescale emails (001 steps 16 and 20), sent once a month, at most once.

001 step 16: "a list of all out of timescales ICPCs will be collated ... and the reason
identified. This list will be shared by the Ops Manager (CP) to all relevant Area Managers on a
monthly basis"; step 20: the same for review conferences (RCPC).

The Temporal Schedule (``workers.schedules``) starts :class:`workflows.monthly_reports.
MonthlyReportsWorkflow` at 07:00 London time on days 1 to 7 of every month; a schedule knows no
bank holidays, so this activity decides: it sends only on the **first working day of the
month by the calendar of an installed procedure** (England's, Wales's ... with the authority's
closure days), and only that procedure's cases; on any other day it does nothing. Given a
month (a re-run, a back-fill: ``MonthlyReportsInput(month="2026-10")``) it sends that month's
lists for every procedure, whatever the day.

Who receives them: per area, the active people with an email address who hold a role the
case's procedure names for delays (:func:`list_roles`: ``decisions.approve_delay``, and
``delays.request_copy_to`` and ``delays.decision_copy_to``: 001's Area Manager and Ops
Manager (CP), 000's area Head of Service and Head of Service Safeguarding, the others' service
manager or principal officer), and whose areas include it, or who are service-wide. Each
receives two emails for the area, the ICPC list and the RCPC list (an empty list says so), the
table in the body and the list as CSV attached.

At most once: every email's idempotency key is (month, list, area, recipient), the recipient
as a hash of their sign-in id, recorded in the shared outbox ledger (``records.outbox``) the
moment the SMTP server accepts it, and looked up before sending: re-running a month, or a
retried activity, sends nothing twice. Logs carry the month and counts only: no address,
name, sign-in id or case reference.
"""

from __future__ import annotations

import hashlib
import smtplib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage

import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.mail import _settings, build_message, deliver
from activities.outbox_ledger import OutboxLedger
from activities.record import record_store
from activities.smtp_pool import close_quietly, connect
from contracts.metrics import record_report_seconds
from domain.calendar import LONDON
from domain.outbox import EmailPurpose, OutgoingEmail
from domain.people import Person
from domain.procedure import Procedure
from domain.reports import LateConference, OutOfTimescaleReport, Period
from domain.reports.tables import text_table
from domain.vocabulary import DecisionKind
from procedures import load_all
from records.people import PeopleStore
from records.reports_query import out_of_timescale_report

log = structlog.get_logger("icpc")

REPORT = "out-of-timescale"  # icpc_report_seconds{report}
KEY_PREFIX = "monthly-out-of-timescale"
LISTS = ("icpc", "rcpc")
TITLES = {"icpc": "Out-of-timescale ICPCs", "rcpc": "Out-of-timescale review conferences (RCPC)"}
# The columns of the table in the body (the CSV attached has every column of the list).
BODY_COLUMNS = {
    "icpc": ["case_reference", "team", "due", "held", "status", "working_days_late", "reason"],
    "rcpc": ["case_reference", "team", "review_number", "due", "held", "status"],
}
BODY_COLUMNS["icpc"] += ["approval", "approver", "approver_comment"]
BODY_COLUMNS["rcpc"] += ["working_days_late", "reason", "approval", "approver", "approver_comment"]


class MonthlyReportsInput(BaseModel):
    """``month`` (YYYY-MM): send that month's lists now, whatever the day (a re-run). None (the
    schedule's runs): last month's, and only on the first working day of this one.
    ``today``: the day to act as if it were (tests); None: today in London."""

    month: str | None = None
    today: date | None = None


class MonthlyReportsResult(BaseModel):
    month: str = ""  # the month reported ("" when today was not a first working day)
    procedures: list[str] = []  # the procedures whose lists were sent
    areas: int = 0
    sent: int = 0
    skipped: int = 0  # already sent (a re-run): nothing sent twice
    no_recipient: int = 0  # areas nobody holding a list role covers


def list_roles(procedure: Procedure) -> frozenset[str]:
    """The roles a procedure names for delays: who approves them and who is copied in."""
    return frozenset(
        [
            *procedure.roles_for(DecisionKind.APPROVE_DELAY),
            *procedure.delays.request_copy_to,
            *procedure.delays.decision_copy_to,
        ]
    )


def recipients(people: Iterable[Person], area: str | None, roles: frozenset[str]) -> list[Person]:
    """Who receives an area's lists: active, with an email, holding one of ``roles``, in the
    area or service-wide (a case with no area recorded: service-wide people only)."""
    return sorted(
        (
            p
            for p in people
            if p.active
            and p.email
            and p.roles & roles
            and (p.service_wide or (area is not None and area in p.areas))
        ),
        key=lambda p: p.id,
    )


def last_month(day: date) -> Period:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return Period.month(f"{year:04d}-{month:02d}")


def first_working_day(procedure: Procedure, day: date) -> bool:
    """``day`` is the first working day of its month by the procedure's calendar."""
    calendar = procedure.calendar
    if not calendar.is_working_day(day):
        return False
    return not any(calendar.is_working_day(day.replace(day=d)) for d in range(1, day.day))


def idempotency_key(month: str, which: str, area: str, person_id: str) -> str:
    """Per (month, list, area, recipient); the recipient as a hash, never their sign-in id."""
    who = hashlib.sha256(person_id.encode("utf-8")).hexdigest()[:16]
    return f"{KEY_PREFIX}:{month}:{which}:{area}:{who}"


def attachment_name(month: str, which: str, area: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in area)
    return f"out-of-timescale-{which}-{month}-{safe}.csv"


@dataclass(frozen=True)
class AreaList:
    """One list (ICPC or RCPC) for one area, as emailed."""

    month: Period
    which: str  # icpc | rcpc
    area: str
    rows: Sequence[LateConference]
    csv: str
    unplaced: int

    @property
    def month_id(self) -> str:
        return f"{self.month.start:%Y-%m}"

    def subject(self) -> str:
        return f"{TITLES[self.which]}, {self.month.label}: {self.area} ({len(self.rows)})"

    def body(self, as_of: date) -> str:
        lines = [
            f"{TITLES[self.which]} in {self.area}, {self.month.label} (as at {as_of}).",
            "",
            "Each conference held late in the month, or still not held past its due date,"
            " with the reason recorded for the delay and who approved it.",
            "",
        ]
        if self.rows:
            rows = [r.model_dump() for r in self.rows]
            lines += [text_table(BODY_COLUMNS[self.which], rows), ""]
            lines.append("The full list is attached as CSV.")
        else:
            lines.append("None this month.")
        if self.unplaced:
            lines += [
                "",
                f"{self.unplaced} case(s) across the service could not be placed in the lists"
                " (data-quality exceptions): see 'icpc report out-of-timescale'.",
            ]
        lines += ["", "Sent by the ICPC bookings service (001 steps 16 and 20)."]
        return "\n".join(lines) + "\n"


def area_lists(report: OutOfTimescaleReport) -> list[AreaList]:
    """Both lists of every area with a row in either, in area order."""
    found = []
    for area in report.areas:
        mine = report.for_area(area)
        for which in LISTS:
            rows = mine.icpc if which == "icpc" else mine.rcpc
            csv = mine.icpc_csv() if which == "icpc" else mine.rcpc_csv()
            found.append(
                AreaList(report.month, which, area, rows, csv, unplaced=len(report.unplaced))
            )
    return found


def only_procedures(report: OutOfTimescaleReport, ids: Iterable[str]) -> OutOfTimescaleReport:
    wanted = set(ids)
    return report.model_copy(
        update={
            "icpc": [r for r in report.icpc if r.procedure_id in wanted],
            "rcpc": [r for r in report.rcpc if r.procedure_id in wanted],
        }
    )


def build_email(
    item: AreaList, person: Person, as_of: date, mail_from: str
) -> tuple[OutgoingEmail, bytes]:
    assert person.email is not None
    email = OutgoingEmail(
        idempotency_key=idempotency_key(item.month_id, item.which, item.area, person.id),
        case_id=f"{KEY_PREFIX}-{item.month_id}",  # the ledger's case id: no case's
        purpose=EmailPurpose.NOTICE,
        to=[person.email],
        subject=item.subject(),
        body=item.body(as_of),
    )
    return email, item.csv.encode("utf-8")


def _today(request: MonthlyReportsInput) -> date:
    return request.today or datetime.now(LONDON).date()


def _chosen(
    request: MonthlyReportsInput, procedures: Mapping[str, Procedure], today: date
) -> tuple[Period | None, list[str]]:
    """The month to report and the procedures whose lists go out today."""
    if request.month is not None:
        return Period.month(request.month), sorted(procedures)
    due = [pid for pid, p in sorted(procedures.items()) if first_working_day(p, today)]
    return (last_month(today) if due else None), due


def _heartbeat(*details: object) -> None:
    if activity.in_activity():
        activity.heartbeat(*details)


@activity.defn(name="send_monthly_out_of_timescale")
def send_monthly_out_of_timescale(request: MonthlyReportsInput) -> MonthlyReportsResult:
    """Email last month's lists (or ``request.month``'s) to each area's managers, once."""
    today = _today(request)
    installed = load_all()
    try:
        month, procedure_ids = _chosen(request, installed, today)
    except ValueError as error:  # PeriodError: a month that is not YYYY-MM
        raise ApplicationError(str(error), type="BadMonth", non_retryable=True) from None
    if month is None:
        log.info("monthly_reports_not_today", day=today.isoformat())
        return MonthlyReportsResult()
    bound = log.bind(activity="send_monthly_out_of_timescale", month=f"{month.start:%Y-%m}")
    store = record_store()
    started = time.perf_counter()
    report = out_of_timescale_report(store, month, installed, today)
    record_report_seconds(activity.metric_meter(), REPORT, time.perf_counter() - started)
    report = only_procedures(report, procedure_ids)
    people = PeopleStore(store.engine).all()
    settings = _settings()
    result = MonthlyReportsResult(
        month=f"{month.start:%Y-%m}", procedures=procedure_ids, areas=len(report.areas)
    )
    roles_of = {pid: list_roles(installed[pid]) for pid in procedure_ids}
    outgoing: list[tuple[OutgoingEmail, bytes, AreaList]] = []
    for item in area_lists(report):
        in_area = {r.procedure_id for r in [*report.icpc, *report.rcpc] if r.area == item.area}
        roles = frozenset().union(*(roles_of[p] for p in in_area))
        area = None if item.area == "(not recorded)" else item.area
        chosen = recipients(people, area, roles)
        if not chosen:
            result.no_recipient += item.which == "icpc"  # count each area once
        for person in chosen:
            email, attachment = build_email(item, person, report.as_of, settings.mail_from)
            outgoing.append((email, attachment, item))

    ledger = OutboxLedger(settings.outbox_db)
    smtp: smtplib.SMTP | None = None
    try:
        for index, (email, attachment, item) in enumerate(outgoing):
            _heartbeat(index)
            if ledger.is_sent(email.idempotency_key):
                result.skipped += 1
                continue
            message: EmailMessage = build_message(email, settings)
            message.add_attachment(
                attachment,
                maintype="text",
                subtype="csv",
                filename=attachment_name(item.month_id, item.which, item.area),
            )
            if smtp is None:
                smtp = connect(settings)  # its own: once a month, never worth keeping
            deliver(smtp, message, settings.mail_from, list(email.to))
            ledger.record_sent(email.idempotency_key, email.case_id, str(message["Message-ID"]))
            result.sent += 1
    except (smtplib.SMTPException, OSError) as error:
        bound.warning("monthly_reports_smtp_failed", error=type(error).__name__, sent=result.sent)
        raise ApplicationError(
            f"SMTP failed ({type(error).__name__}) after sending {result.sent}",
            type="SmtpFailed",
        ) from None
    finally:
        ledger.close()
        if smtp is not None:
            close_quietly(smtp)
    bound.info(
        "monthly_reports_sent",
        procedures=len(procedure_ids),
        areas=result.areas,
        sent=result.sent,
        skipped=result.skipped,
        no_recipient=result.no_recipient,
    )
    return result


__all__ = [
    "MonthlyReportsInput",
    "MonthlyReportsResult",
    "list_roles",
    "recipients",
    "send_monthly_out_of_timescale",
]
