"""The children in need census extract: section 47 and plan items, as CSV and XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from domain.reports import Period, census_extract
from tests.reports.scenario import d, histories

YEAR_2026 = Period.year_to_march(2026)  # 1 April 2025 to 31 March 2026
YEAR_2027 = Period.year_to_march(2027)


def by_reference(year: Period, **kwargs: object) -> dict[str, dict[str, object]]:
    extract = census_extract(histories(), year, **kwargs)  # type: ignore[arg-type]
    return {row.case_reference: row.model_dump() for row in extract.rows}


def test_the_census_year_runs_1_april_to_31_march() -> None:
    assert (YEAR_2026.start, YEAR_2026.end) == (date(2025, 4, 1), date(2026, 3, 31))


def test_section_47_items_per_case() -> None:
    rows = by_reference(YEAR_2026)
    assert set(rows) == {
        "ON-TIME",
        "DAY-15",
        "APPROVED-DELAY",
        "UNAPPROVED",
        "WITHDRAWN",
        "REBOOKED",
        "REGISTERED-LATE",
        "EASTER",
        "LATE-OPEN",
    }
    items = ("S47ActualStartDate", "InitialCPCtarget", "DateOfInitialCPC", "ICPCnotRequired")
    got = {ref: tuple(row[item] for item in items) for ref, row in rows.items()}
    assert got["ON-TIME"] == (d(3, 2), d(3, 23), d(3, 19), False)
    assert got["APPROVED-DELAY"] == (d(3, 2), d(3, 23), d(3, 27), False)
    # Held on 8 April, after the census year: no date yet, and not "not required".
    assert got["UNAPPROVED"] == (d(3, 2), d(3, 23), None, False)
    assert got["WITHDRAWN"] == (d(3, 2), d(3, 23), None, True)
    assert got["EASTER"] == (d(3, 23), d(4, 15), None, False)
    assert got["LATE-OPEN"] == (d(3, 9), d(3, 30), None, False)
    assert all(row["section_47_in_year"] for row in rows.values())


def test_plan_items_and_previous_plans() -> None:
    rows = by_reference(YEAR_2026, earlier_plans={"ON-TIME": [("icpc-old-case", d(5, 1, 2024))]})
    items = ("plan_in_year", "CPPstartDate", "CPPendDate", "NumberOfPreviousCPP", "CPPreviewDate")
    assert tuple(rows["ON-TIME"][i] for i in items) == (True, d(3, 19), None, 1, [])
    assert tuple(rows["DAY-15"][i] for i in items) == (True, d(3, 23), None, 0, [])
    assert tuple(rows["APPROVED-DELAY"][i] for i in items) == (False, None, None, None, [])


def test_a_plan_running_through_the_next_year_carries_its_reviews() -> None:
    rows = by_reference(YEAR_2027)
    on_time = rows["ON-TIME"]
    # The section 47 ended (ICPC held) before 1 April 2026: only the plan is in this year.
    assert on_time["section_47_in_year"] is False
    assert on_time["plan_in_year"] is True
    assert on_time["CPPreviewDate"] == [d(6, 17), d(1, 6, 2027)]
    # Held on 8 April 2026: this year's.
    assert rows["UNAPPROVED"]["DateOfInitialCPC"] == d(4, 8)
    assert "WITHDRAWN" not in rows  # withdrawn before the year: nothing in it


def test_a_case_that_cannot_be_placed_is_listed_not_dropped() -> None:
    extract = census_extract(histories(), YEAR_2026)
    assert [(u.case_reference, u.reason) for u in extract.unplaced] == [
        ("NO-BOOKING", "conference held but no booking recorded")
    ]


def test_csv_uses_the_census_item_names_and_formats() -> None:
    lines = census_extract(histories(), YEAR_2026).to_csv().splitlines()
    assert lines[0] == (
        "case_reference,S47ActualStartDate,InitialCPCtarget,DateOfInitialCPC,ICPCnotRequired,"
        "CPPstartDate,CPPendDate,NumberOfPreviousCPP,CPPreviewDate"
    )
    assert "ON-TIME,2026-03-02,2026-03-23,2026-03-19,false,2026-03-19,,0," in lines
    assert "WITHDRAWN,2026-03-02,2026-03-23,,true,,,," in lines
    nxt = census_extract(histories(), YEAR_2027).to_csv().splitlines()
    assert "ON-TIME,,,,,2026-03-19,,0,2026-06-17;2027-01-06" in nxt


def test_the_xml_fragment_holds_the_census_groups_per_case() -> None:
    text = census_extract(histories(), YEAR_2026).to_xml()
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<ICPCCensusExtract")
    root = ET.fromstring(text)
    assert root.attrib == {"CensusYearStart": "2025-04-01", "ReferenceDate": "2026-03-31"}
    cases = {c.attrib["CaseReference"]: c for c in root.findall("Case")}
    on_time = cases["ON-TIME"]
    s47 = on_time.find("Section47")
    assert s47 is not None
    assert [(e.tag, e.text) for e in s47] == [
        ("S47ActualStartDate", "2026-03-02"),
        ("InitialCPCtarget", "2026-03-23"),
        ("DateOfInitialCPC", "2026-03-19"),
        ("ICPCnotRequired", "false"),
    ]
    plans = on_time.find("ChildProtectionPlans")
    assert plans is not None
    assert [(e.tag, e.text) for e in plans] == [
        ("CPPstartDate", "2026-03-19"),
        ("NumberOfPreviousCPP", "0"),
    ]
    withdrawn = cases["WITHDRAWN"].find("Section47")
    assert withdrawn is not None
    assert [(e.tag, e.text) for e in withdrawn] == [
        ("S47ActualStartDate", "2026-03-02"),
        ("InitialCPCtarget", "2026-03-23"),
        ("ICPCnotRequired", "true"),
    ]
    assert cases["WITHDRAWN"].find("ChildProtectionPlans") is None
    reviews = ET.fromstring(census_extract(histories(), YEAR_2027).to_xml()).find(
        "Case[@CaseReference='ON-TIME']/ChildProtectionPlans/Reviews"
    )
    assert reviews is not None
    assert [e.text for e in reviews.findall("CPPreviewDate")] == ["2026-06-17", "2027-01-06"]
