"""Management information (issue 13): every figure a pure function of recorded events.

The input is a list of :class:`CaseHistory` (one case's summary fields and its recorded
events), loaded from the case record by ``records.reports_query`` or made by hand in tests;
the installed procedures give each case's working-day calendar, review intervals and capacity.
No I/O and no clock: ``today`` is passed in where a report needs it.

- :func:`timeliness`: ICPCs held in a period within 15 working days (DfE's bands, median), and
  review conferences held within timescale, split by procedure, area and team.
- :func:`out_of_timescale`: the month's ICPC and RCPC lists (001 steps 16 and 20).
- :func:`capacity_forecast`: conferences expected per week for the next four weeks, against
  the capacity a procedure declares (000 action 3).
- :func:`audit_sample` and :func:`audit_review`: the bi-monthly sample of strategy-to-ICPC
  decisions per area, and the event that records a review of one (000 action 16).
- :func:`census_extract`: the children in need census's section 47 and plan items.

Every report lists the cases it could not place, and why (``unplaced``): data-quality
exceptions are shown, never dropped. Each has ``to_csv()`` (and the census ``to_xml()``),
and is a pydantic model (``model_dump(mode="json")``).
"""

from domain.reports.audit import (
    AUDIT_REVIEW_EVENT,
    AuditDecision,
    AuditSample,
    audit_review,
    audit_sample,
)
from domain.reports.capacity import CapacityForecast, WeekForecast, capacity_forecast
from domain.reports.census import CensusExtract, CensusRow, census_extract
from domain.reports.history import CaseHistory, Period, PeriodError, Unplaced, check_period
from domain.reports.out_of_timescale import (
    LateConference,
    OutOfTimescaleReport,
    out_of_timescale,
)
from domain.reports.timeliness import (
    BANDS,
    NATIONAL_PERCENT_WITHIN_15,
    IcpcFigures,
    ReviewFigures,
    TimelinessReport,
    timeliness,
)

__all__ = [
    "AUDIT_REVIEW_EVENT",
    "BANDS",
    "NATIONAL_PERCENT_WITHIN_15",
    "AuditDecision",
    "AuditSample",
    "CapacityForecast",
    "CaseHistory",
    "CensusExtract",
    "CensusRow",
    "IcpcFigures",
    "LateConference",
    "OutOfTimescaleReport",
    "Period",
    "PeriodError",
    "ReviewFigures",
    "TimelinessReport",
    "Unplaced",
    "WeekForecast",
    "audit_review",
    "audit_sample",
    "capacity_forecast",
    "census_extract",
    "check_period",
    "out_of_timescale",
    "timeliness",
]
