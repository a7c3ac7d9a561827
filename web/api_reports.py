"""The management information over the API: ``/api/v1/reports/...``, what ``icpc report``
asks for.

Read exactly as the Reports pages read them (:mod:`web.report_pages`): who may read them
(:func:`web.report_pages.check_reader`), the period's checks (:func:`~web.report_pages.choose`,
the command line's words) and every figure of the cases the reader may see
(:func:`~web.report_pages.build_report`, ``visible_to``): a team manager their team's, an
area's head of service their area's, service-wide people all. ``area`` narrows that further,
never wider. Every read and every refusal is a ``read_report`` row of the audit trail (channel
``api``) naming the report and its parameters.

``format=json`` (the default) gives the report as its model; ``format=csv`` the same CSV as
the page's download (``census`` also ``format=xml``).

``POST /reports/monthly/send`` sends a month's out-of-timescale lists now (the schedule's own
workflow, :func:`workers.schedules.send_monthly_now`); ``POST /reports/audit-reviews`` records a
review of a case's strategy-to-ICPC decision.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from contracts.case import TASK_QUEUE
from domain.calendar import LONDON
from domain.decisions import Decider
from domain.people import ADMIN, Person
from domain.reports import (
    AuditSample,
    CapacityForecast,
    CensusExtract,
    OutOfTimescaleReport,
    Period,
    PeriodError,
    TimelinessReport,
    check_period,
)
from domain.reports.audit import audit_review
from domain.scoping import may_see
from records.audit import Action, AuditEntry, Channel, Outcome
from records.reports_query import record_audit_review
from records.store import RecordStore
from web import report_pages
from web.api_door import ApiPerson, ProblemDetail
from web.dependencies import address, services, temporal
from web.problems import Problem

router = APIRouter(prefix="/reports", tags=["reports"])

CSV = "text/csv; charset=utf-8"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {}}, "description": "The report (format=csv: the CSV download)"},
    400: {
        "model": ProblemDetail,
        "description": "The parameters name no report that can be made, with the reason",
    },
}
Format = Literal["json", "csv"]
Month = Annotated[str | None, Query(description="YYYY-MM", max_length=40)]
Quarter = Annotated[str | None, Query(description="YYYY-Qn", max_length=40)]
Year = Annotated[int | None, Query(description="the year to 31 March YYYY")]
From = Annotated[str | None, Query(alias="from", description="YYYY-MM-DD", max_length=40)]
To = Annotated[str | None, Query(alias="to", description="YYYY-MM-DD", max_length=40)]
ProcedureId = Annotated[str | None, Query(description="one procedure's cases", max_length=100)]
Area = Annotated[
    str | None, Query(description="one area's cases (of those you may see)", max_length=100)
]


async def _reader(request: Request, person: ApiPerson) -> Person:
    return await report_pages.check_reader(request, person, request.url.path, Channel.API)


Reader = Annotated[Person, Depends(_reader)]


async def _choice(
    request: Request, person: Person, report: str, asked: Mapping[str, Any]
) -> report_pages.Choice:
    """The period and procedure asked for, checked as the page checks them; the read audited
    (a 400 with the reasons, audited as refused, when they cannot be)."""
    web = services(request)
    params = {k: str(v) for k, v in asked.items() if v is not None}
    choice = report_pages.choose(params, web.procedures, report_pages.today())
    refused = "; ".join(choice.errors.values())
    await report_pages.audit_read(
        request, person, report, asked, channel=Channel.API, refused=refused
    )
    if refused:
        raise Problem(400, "The report cannot be made", refused)
    return choice


async def _build(request: Request, person: Person, report: str, choice: Any, **kw: Any) -> Any:
    web = services(request)
    now = report_pages.today()
    return await web.records.read(
        lambda store: report_pages.build_report(
            store, report, choice, web.procedures, person, now, **kw
        )
    )


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/timeliness",
    response_model=TimelinessReport,
    responses=CSV_RESPONSE,
    summary="ICPCs within 15 working days, reviews in time",
)
async def timeliness(
    request: Request,
    person: Reader,
    month: Month = None,
    quarter: Quarter = None,
    year: Year = None,
    start: From = None,
    end: To = None,
    procedure: ProcedureId = None,
    area: Area = None,
    format: Format = "json",
) -> Any:
    """One period (``month``, ``quarter``, ``year`` or ``from`` and ``to``; by default the
    twelve months to the end of last month, as on the page)."""
    asked = {"month": month, "quarter": quarter, "year": year, "from": start, "to": end}
    asked |= {"procedure": procedure, "area": area, "format": format}
    choice = await _choice(request, person, "timeliness", asked)
    report: TimelinessReport = await _build(request, person, "timeliness", choice, area=area)
    if format == "csv":
        return _csv(report.to_csv(), f"timeliness-{report.period.start}-to-{report.period.end}.csv")
    return report


@router.get(
    "/out-of-timescale",
    response_model=OutOfTimescaleReport,
    responses=CSV_RESPONSE,
    summary="A month's late ICPCs and review conferences, with reasons",
)
async def out_of_timescale(
    request: Request,
    person: Reader,
    month: Month = None,
    procedure: ProcedureId = None,
    area: Area = None,
    list: Annotated[
        Literal["icpc", "rcpc"] | None, Query(description="the list format=csv gives")
    ] = None,
    format: Format = "json",
) -> Any:
    """``month`` (by default last month). ``format=csv`` gives one list: ``list=icpc`` or
    ``list=rcpc``."""
    asked = {"month": month, "procedure": procedure, "area": area, "list": list, "format": format}
    if format == "csv" and list is None:
        reason = "format=csv gives one list: add list=icpc or list=rcpc"
        await report_pages.audit_read(
            request, person, "out-of-timescale", asked, channel=Channel.API, refused=reason
        )
        raise Problem(400, "The report cannot be made", reason)
    choice = await _choice(request, person, "out-of-timescale", asked)
    report: OutOfTimescaleReport = await _build(
        request, person, "out-of-timescale", choice, area=area
    )
    if format == "csv":
        text = report.icpc_csv() if list == "icpc" else report.rcpc_csv()
        return _csv(text, f"out-of-timescale-{list}-{report.month.start:%Y-%m}.csv")
    return report


@router.get(
    "/capacity",
    response_model=CapacityForecast,
    responses=CSV_RESPONSE,
    summary="Conferences expected per week, against capacity",
)
async def capacity(
    request: Request,
    person: Reader,
    weeks: Annotated[int, Query(ge=1, le=26, description="weeks ahead")] = 4,
    procedure: ProcedureId = None,
    area: Area = None,
    format: Format = "json",
) -> Any:
    asked = {"weeks": weeks, "procedure": procedure, "area": area, "format": format}
    choice = await _choice(request, person, "capacity", asked)
    forecast: CapacityForecast = await _build(
        request, person, "capacity", choice, area=area, weeks=weeks
    )
    if format == "csv":
        return _csv(forecast.to_csv(), f"capacity-{forecast.as_of}.csv")
    return forecast


@router.get(
    "/audit-sample",
    response_model=AuditSample,
    responses=CSV_RESPONSE,
    summary="A reproducible sample of strategy-to-ICPC decisions per area",
)
async def audit_sample(
    request: Request,
    person: Reader,
    month: Month = None,
    start: From = None,
    end: To = None,
    size: Annotated[int, Query(ge=1, le=100_000, description="decisions drawn per area")] = 10,
    procedure: ProcedureId = None,
    area: Area = None,
    format: Format = "json",
) -> Any:
    """The window: ``month`` and the one before it; or ``from`` to ``to`` as given; by default
    the two months to the end of last month."""
    asked = {"month": month, "from": start, "to": end, "size": size}
    asked |= {"procedure": procedure, "area": area, "format": format}
    choice = await _choice(request, person, "audit-sample", asked)
    window = choice.period if month is None and (start or end) else None
    sample: AuditSample = await _build(
        request, person, "audit-sample", choice, area=area, size=size, window=window
    )
    if format == "csv":
        name = f"audit-sample-{sample.window.start:%Y-%m}-to-{sample.window.end:%Y-%m}.csv"
        return _csv(sample.to_csv(), name)
    return sample


@router.get(
    "/census",
    response_model=CensusExtract,
    responses={
        **CSV_RESPONSE,
        200: {"content": {CSV: {}, "application/xml": {}}, "description": "The extract"},
    },
    summary="Children in need census: section 47 and plan items",
)
async def census(
    request: Request,
    person: Reader,
    year: Annotated[int, Query(description="the census year ending 31 March YYYY")],
    procedure: ProcedureId = None,
    format: Literal["json", "csv", "xml"] = "json",
) -> Any:
    asked = {"year": year, "procedure": procedure, "format": format}
    choice = await _choice(request, person, "census", asked)
    extract: CensusExtract = await _build(request, person, "census", choice)
    if format == "csv":
        return _csv(extract.to_csv(), f"census-{extract.census_year.end.year}.csv")
    if format == "xml":
        return Response(extract.to_xml(), media_type="application/xml")
    return extract


# --- the monthly lists, sent by hand ---------------------------------------------------------


class SendMonthly(BaseModel):
    month: str | None = Field(None, description="YYYY-MM; by default last month")
    force: bool = Field(False, description="an administrator sending a month not yet over")


class MonthlySent(BaseModel):
    month: str
    forced: bool
    procedures: list[str]
    areas: int
    sent: int
    skipped: int = Field(description="already sent before: not sent again")
    no_recipient: int = Field(description="areas nobody holding a list role covers")


async def _write(request: Request, entry: AuditEntry) -> None:
    await services(request).accounts.run(lambda accounts: accounts.audit(entry))


@router.post(
    "/monthly/send",
    response_model=MonthlySent,
    summary="Email a month's out-of-timescale lists to each area's managers now",
)
async def send_monthly(request: Request, person: ApiPerson, body: SendMonthly) -> MonthlySent:
    """What the schedule does on the first working day, for a month: a re-run sends nothing
    twice. For the people who read the reports; a month not yet over only for an
    administrator, with ``force``."""
    now = report_pages.today()
    admin = person.active and person.holds(ADMIN)
    reader = report_pages.reads_reports(person, request.app.state.report_roles)
    asked = f"month {body.month or 'last'}" + (" force" if body.force else "")

    async def audit(outcome: Outcome, said: str) -> None:
        role = ADMIN if admin and (body.force or not reader) else None
        await _write(
            request,
            AuditEntry(
                action=Action.SEND_REPORT,
                outcome=outcome,
                channel=Channel.API,
                actor=person.id,
                actor_role=role or report_pages.reader_role(request, person),
                address=address(request),
                detail=f"out-of-timescale lists, {asked}: {said}",
            ),
        )

    async def refuse(status: int, reason: str) -> Problem:
        await audit(Outcome.REFUSED, reason)
        return Problem(status, "The lists are not sent", reason)

    if not reader and not (admin and body.force):
        raise await refuse(
            403,
            "The monthly lists are sent by the managers who read the reports (or an"
            " administrator, with force).",
        )
    try:
        month = Period.month(body.month) if body.month else report_pages.last_month(now)
        check_period(month, now)
    except PeriodError as error:
        raise await refuse(400, str(error)) from None
    label = f"{month.start:%Y-%m}"
    asked = f"month {label}" + (" force" if body.force else "")
    if month.end >= now and not (admin and body.force):
        raise await refuse(
            403,
            f"{month.label} is not over yet (today is {now.isoformat()}): its lists are sent"
            " once it is; only an administrator may send them early, with force.",
        )
    from workers.schedules import send_monthly_now

    client = await temporal(request)
    try:
        result = await send_monthly_now(client, label, TASK_QUEUE)
    except (WorkflowFailureError, RPCError) as error:
        await audit(Outcome.UNKNOWN, f"not known to be sent ({type(error).__name__})")
        raise Problem(
            503,
            "The lists could not be sent",
            "The sending did not finish; run it again later: nothing is sent twice.",
        ) from None
    await audit(
        Outcome.OK,
        f"sent {result.sent}, already sent {result.skipped}, areas {result.areas},"
        f" no recipient {result.no_recipient}",
    )
    return MonthlySent(
        month=result.month,
        forced=body.force and month.end >= now,
        procedures=result.procedures,
        areas=result.areas,
        sent=result.sent,
        skipped=result.skipped,
        no_recipient=result.no_recipient,
    )


# --- a review of a sampled decision ------------------------------------------------------------


class AuditReviewAsked(BaseModel):
    case: str = Field(description="the case reference (or the case's id)", max_length=200)
    finding: str = Field(description="what the review found", max_length=4000)
    role: str | None = Field(None, description="the role you review in (default: your one)")
    date: dt.date | None = Field(None, description="the day of the review (default today)")


class AuditReviewRecorded(BaseModel):
    case_id: str
    reviewer: str
    role: str
    reviewed_on: dt.date
    recorded: bool = Field(description="false: already recorded, nothing written again")


def _case_id(store: RecordStore, case: str) -> str | None:
    """The one case a reference (or a case id) names; None when it names none. A 400 when it
    names several."""
    case = case.strip()
    if case.startswith("icpc-"):
        return case if store.summary(case) is not None else None
    found = store.find(case)
    if len(found) > 1:
        ids = ", ".join(s.case_id for s in found)
        raise Problem(400, "Give the case's id", f"'{case}' names {len(found)} cases ({ids})")
    return str(found[0].case_id) if found else None


@router.post(
    "/audit-reviews",
    response_model=AuditReviewRecorded,
    summary="Record a Head of Service's review of a case's decision",
)
async def record_review(
    request: Request, person: ApiPerson, body: AuditReviewAsked
) -> AuditReviewRecorded:
    """Recorded once (a second identical review writes nothing), as the calling person in a
    role they hold that the case's procedure names; for a case they may see."""
    web = services(request)
    reviewed_on = body.date or report_pages.today()
    case_id = await web.records.read(lambda store: _case_id(store, body.case))
    scope = await web.records.read(lambda store: store.scope(case_id)) if case_id else None

    async def audit(outcome: Outcome, detail: str, role: str | None = None) -> None:
        await _write(
            request,
            AuditEntry(
                action=Action.DECISION,
                outcome=outcome,
                channel=Channel.API,
                actor=person.id,
                actor_role=role,
                case_id=case_id,
                address=address(request),
                detail=f"audit review: {detail}",
            ),
        )

    if scope is None or not may_see(person, scope):
        await audit(Outcome.REFUSED, "no such case that you may see")
        raise Problem(404, "No such case", f"There is no case '{body.case}' that you may see.")
    procedure = web.procedures.get(scope.procedure_id)
    named = {r.id for r in procedure.roles} if procedure else set()
    held = sorted(r for r in person.roles if r in named)
    role = body.role
    if role is None and len(held) != 1:
        choices = " or ".join(held) or "none of this procedure's roles"
        await audit(Outcome.REFUSED, f"no role given ({choices})")
        raise Problem(400, "Say which role you review in", f"Give role: {choices}.")
    role = role or held[0]
    if role not in held:
        reason = f"You do not hold the role '{role}' on this procedure's cases."
        await audit(Outcome.REFUSED, reason, role)
        raise Problem(403, "You cannot review this case", reason)
    reviewer = Decider(user=person.id, role=role)
    now = dt.datetime.now(LONDON)
    try:
        audit_review(reviewer, reviewed_on, body.finding, now)  # its checks, first
    except ValueError as error:
        await audit(Outcome.REFUSED, str(error), role)
        raise Problem(400, "The review cannot be recorded", str(error)) from None
    assert case_id is not None
    written = await web.records.read(
        lambda store: record_audit_review(store, case_id, reviewer, reviewed_on, body.finding, now)
    )
    await audit(Outcome.OK, "recorded" if written else "already recorded", role)
    return AuditReviewRecorded(
        case_id=case_id, reviewer=person.id, role=role, reviewed_on=reviewed_on, recorded=written
    )
