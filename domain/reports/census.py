"""The children in need census extract: the section 47 and child protection plan items the
product holds, for a census year (1 April to 31 March), per case.

The item names, their order and formats are the DfE children in need (CIN) census's, as its
specification names them (common basic data set numbers in brackets) and the DfE's own
validation rules read them:

- ``<Section47>``: ``S47ActualStartDate`` (N00148), ``InitialCPCtarget`` (N00109),
  ``DateOfInitialCPC`` (N00110), ``ICPCnotRequired`` (N00111);
- ``<ChildProtectionPlans>``: ``CPPstartDate`` (N00105), ``CPPendDate`` (N00115),
  ``InitialCategoryOfAbuse`` (N00113), ``LatestCategoryOfAbuse`` (N00114),
  ``NumberOfPreviousCPP`` (N00106), and ``<Reviews>`` of ``CPPreviewDate`` (N00116).

Dates are ``YYYY-MM-DD``; ``ICPCnotRequired`` is ``true`` or ``false`` (the schema's boolean;
the DfE's validator also takes 1 or 0). What each means here:

- ``S47ActualStartDate``: the strategy discussion's date (000 action 2: the section 47 tracker
  starts the same day);
- ``InitialCPCtarget``: the ICPC's statutory limit, working day 15 (as the case recorded it);
- ``DateOfInitialCPC``: the date the ICPC was held, if held by the end of the census year;
- ``ICPCnotRequired``: true when the ICPC was withdrawn, or stood down as no longer needed, by
  then; false while it is still to be held or once it is held;
- ``CPPstartDate``: the ICPC's date when it made a plan; ``CPPendDate``: the date the plan
  ended (the review that ended it, or the end recorded), if by the end of the census year;
- ``CPPreviewDate``: each review conference held in the census year;
- ``NumberOfPreviousCPP``: the plans this record holds for the same case reference that
  started before this one: the product knows only its own record, so the authority's system
  should check it against the child's whole history.

A case is in the extract when its section 47 (strategy discussion to ICPC, or to its
withdrawal) or its plan overlaps the census year; a group that does not is left empty.

**Not held by the product** (left to the authority's case management system, which joins the
rows on the case reference): the child's identifiers (``LAchildID``, ``UPN``, ``FormerUPN``,
``UPNunknown``), characteristics (sex, dates of birth and death, ethnicity, disability), the
``<CINdetails>`` episode the groups belong in (referral, primary need, closure), assessments,
CIN plans, and the categories of abuse (``InitialCategoryOfAbuse``, ``LatestCategoryOfAbuse``).
So the XML is a fragment: per case, a ``Case`` element (the product's, carrying the case
reference) around the census's own ``Section47`` and ``ChildProtectionPlans`` groups, for the
authority's system to place inside the child's ``CINdetails``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel

from domain.reports.facts import ICPC_OUTCOME_EVENTS, icpc_facts, plan_facts
from domain.reports.history import CaseHistory, Period, Unplaced, london_day, unplaced_by_reason
from domain.reports.tables import cell, csv_text

SECTION_47_ITEMS = ("S47ActualStartDate", "InitialCPCtarget", "DateOfInitialCPC", "ICPCnotRequired")
PLAN_ITEMS = ("CPPstartDate", "CPPendDate", "NumberOfPreviousCPP")
# The events this report reads (the record's query loads no others).
READS = ICPC_OUTCOME_EVENTS | frozenset({"hold_review", "end_plan"})


class CensusRow(BaseModel):
    """One case's items; a group not in the census year is left empty (None)."""

    case_reference: str  # what the authority's system joins on
    case_id: str
    procedure_id: str
    section_47_in_year: bool
    S47ActualStartDate: date | None = None
    InitialCPCtarget: date | None = None
    DateOfInitialCPC: date | None = None
    ICPCnotRequired: bool | None = None
    plan_in_year: bool = False
    CPPstartDate: date | None = None
    CPPendDate: date | None = None
    NumberOfPreviousCPP: int | None = None
    CPPreviewDate: list[date] = []


class CensusExtract(BaseModel):
    census_year: Period  # 1 April to 31 March
    rows: list[CensusRow]
    unplaced: list[Unplaced]

    @property
    def unplaced_by_reason(self) -> dict[str, int]:
        return unplaced_by_reason(self.unplaced)

    def to_csv(self) -> str:
        """One row per case; several review dates in one cell, separated by ``;``."""
        return csv_text(COLUMNS, (_csv_row(row) for row in self.rows))

    def to_xml(self) -> str:
        root = ET.Element(
            "ICPCCensusExtract",
            {
                "CensusYearStart": self.census_year.start.isoformat(),
                "ReferenceDate": self.census_year.end.isoformat(),
            },
        )
        for row in self.rows:
            case = ET.SubElement(root, "Case", {"CaseReference": row.case_reference})
            if row.section_47_in_year:
                group = ET.SubElement(case, "Section47")
                for item in SECTION_47_ITEMS:
                    value = getattr(row, item)
                    if value is not None:
                        ET.SubElement(group, item).text = cell(value)
            if row.plan_in_year:
                group = ET.SubElement(case, "ChildProtectionPlans")
                for item in PLAN_ITEMS:
                    value = getattr(row, item)
                    if value is not None:
                        ET.SubElement(group, item).text = cell(value)
                if row.CPPreviewDate:
                    reviews = ET.SubElement(group, "Reviews")
                    for day in row.CPPreviewDate:
                        ET.SubElement(reviews, "CPPreviewDate").text = day.isoformat()
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


COLUMNS = ["case_reference", *SECTION_47_ITEMS, *PLAN_ITEMS, "CPPreviewDate"]


def _csv_row(row: CensusRow) -> dict[str, Any]:
    values: dict[str, Any] = {"case_reference": row.case_reference}
    if row.section_47_in_year:
        values.update({item: getattr(row, item) for item in SECTION_47_ITEMS})
    if row.plan_in_year:
        values.update({item: getattr(row, item) for item in PLAN_ITEMS})
        values["CPPreviewDate"] = ";".join(d.isoformat() for d in row.CPPreviewDate)
    return values


def _overlaps(start: date, end: date | None, year: Period) -> bool:
    return start <= year.end and (end is None or end >= year.start)


def census_extract(
    histories: Iterable[CaseHistory],
    year: Period,
    earlier_plans: Mapping[str, Sequence[tuple[str, date]]] | None = None,
) -> CensusExtract:
    """The extract for the census ``year`` (:meth:`Period.year_to_march`).

    ``earlier_plans``: per case reference, the (case id, start date) of plans the record holds
    outside ``histories``, so ``NumberOfPreviousCPP`` counts those too.
    """
    histories = list(histories)
    plans: dict[str, dict[str, date]] = {}
    for reference, known in (earlier_plans or {}).items():
        plans.setdefault(reference, {}).update(dict(known))
    for history in histories:
        if history.outcome == "child_protection_plan" and history.icpc_held_at is not None:
            start = london_day(history.icpc_held_at)
            plans.setdefault(history.case_reference, {})[history.case_id] = start
    rows: list[CensusRow] = []
    unplaced: list[Unplaced] = []
    for history in sorted(histories, key=lambda h: (h.strategy_discussion, h.case_id)):
        strategy = history.strategy_day
        if strategy > year.end:
            continue
        # How the section 47 ended, as the summary says (its events are read only when the
        # section 47 is in the year: a plan's case may come without them).
        held = london_day(history.icpc_held_at) if history.icpc_held_at else None
        held = held if held is not None and held <= year.end else None
        ended = None
        if history.icpc_held_at is None and history.stage in ("withdrawn", "closed"):
            ended = london_day(history.closed_at) if history.closed_at else None
            ended = ended if ended is not None and ended <= year.end else None
        s47 = _overlaps(strategy, held or ended, year)
        plan_start = held if history.outcome == "child_protection_plan" else None
        plan = plan_facts(history.plan_events) if plan_start else None
        plan_end = (
            plan.ended_day if plan and plan.ended_day and plan.ended_day <= year.end else None
        )
        in_year = plan_start is not None and _overlaps(plan_start, plan_end, year)
        if not (s47 or in_year):
            continue
        deadline = london_day(history.icpc_deadline) if history.icpc_deadline else None
        if s47:
            facts = icpc_facts(history)
            if facts.problems:
                unplaced += [
                    Unplaced(
                        case_id=history.case_id, case_reference=history.case_reference, reason=p
                    )
                    for p in facts.problems
                ]
                continue
        previous = None
        if plan_start is not None:
            starts = plans.get(history.case_reference, {})
            previous = sum(
                1
                for case_id, day in starts.items()
                if case_id != history.case_id and day < plan_start
            )
        items: dict[str, Any] = {
            "case_reference": history.case_reference,
            "case_id": history.case_id,
            "procedure_id": history.procedure_id,
            "section_47_in_year": s47,
            "plan_in_year": in_year,
        }
        if s47:
            items.update(
                S47ActualStartDate=strategy,
                InitialCPCtarget=deadline,
                DateOfInitialCPC=held,
                ICPCnotRequired=ended is not None and held is None,
            )
        if in_year:
            items.update(
                CPPstartDate=plan_start,
                CPPendDate=plan_end,
                NumberOfPreviousCPP=previous,
                CPPreviewDate=[
                    r.held_day
                    for r in (plan.reviews if plan else [])
                    if r.held_day is not None and year.start <= r.held_day <= year.end
                ],
            )
        # Built from values already checked: thousands a report, not validated again.
        row = CensusRow.model_construct(**items)
        rows.append(row)
    return CensusExtract(census_year=year, rows=rows, unplaced=unplaced)
