"""The case page's timeline chart (web/timeline_chart.py) and the date input's reading rules,
without a browser: the SVG's rows say what the milestones say, it has a text alternative, and
it scales (a viewBox, no fixed width)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest

from domain.calendar import LONDON
from web.fields import Invalid, date_values, read_date
from web.timeline_chart import Delay, Milestone, case_chart

SVG = "{http://www.w3.org/2000/svg}"


def at(day: int, month: int = 3) -> datetime:
    return datetime(2027, month, day, 10, tzinfo=LONDON)


def test_the_chart_draws_each_milestone_the_limit_and_the_delay_with_a_text_alternative() -> None:
    milestones = [
        Milestone("Confirm the ICPC", at(2), at(2), "Met"),
        Milestone("Convening sheet", at(4), at(8), "Met late"),
        Milestone("Invitations sent", at(10), None, "Late"),
        Milestone("ICPC held", at(22), None, "Waiting"),
        Milestone("Reports shared", None, None, "Not scheduled yet"),
    ]
    svg = ET.fromstring(
        str(case_chart(at(1), at(22), milestones, Delay(date(2027, 3, 29), "approved"), at(12)))
    )
    assert svg.get("role") == "img" and svg.get("width") is None and svg.get("viewBox")
    title_id, desc_id = (svg.get("aria-labelledby") or "").split()
    title = svg.find(f"{SVG}title")
    desc = svg.find(f"{SVG}desc")
    assert title is not None and title.get("id") == title_id and title.text
    assert desc is not None and desc.get("id") == desc_id and desc.text
    assert "Convening sheet: due Thu 4 March 2027, met Mon 8 March 2027 (met late)" in desc.text
    assert "A delay to Mon 29 March 2027 is approved" in desc.text
    rows = [g for g in svg.iter(f"{SVG}g") if g.get("data-kind") == "milestone"]
    assert [(g.get("data-title"), g.get("data-status")) for g in rows] == [
        (m.title, m.status) for m in milestones
    ]
    assert rows[1].get("data-due") == "2027-03-04" and rows[1].get("data-met") == "2027-03-08"
    kinds = {g.get("data-kind") for g in svg.iter(f"{SVG}g")}
    assert {"statutory", "today", "delay"} <= kinds


def test_a_rejected_delay_is_not_drawn_and_text_is_escaped() -> None:
    chart = str(
        case_chart(
            at(1),
            at(22),
            [Milestone("<b>Odd</b> & title", at(3), None, "Waiting")],
            Delay(date(2027, 3, 29), "rejected"),
            at(2),
        )
    )
    assert "<b>" not in chart and "&lt;b&gt;Odd&lt;/b&gt; &amp; title" in chart
    assert 'data-kind="delay"' not in chart
    ET.fromstring(chart)  # well-formed


def test_the_date_input_reads_three_boxes_with_the_design_systems_errors() -> None:
    typed = date_values({"d-day": "7", "d-month": "3", "d-year": "2027"}, "d")
    assert read_date(typed, "d", "Date") == date(2027, 3, 7)
    with pytest.raises(Invalid) as missing:
        read_date(date_values({"d-month": "3"}, "d"), "d", "Date of the conference")
    assert str(missing.value) == "Date of the conference must include a day and year"
    assert missing.value.parts == ("day", "year")
    with pytest.raises(Invalid) as unreal:
        read_date(date_values({"d-day": "31", "d-month": "2", "d-year": "2027"}, "d"), "d", "Date")
    assert str(unreal.value) == "Date must be a real date" and unreal.value.parts[0] == "day"
    # A client posting the date whole is read too.
    assert read_date(date_values({"d": "2027-03-07"}, "d"), "d", "Date") == date(2027, 3, 7)
    assert read_date(date_values({}, "d"), "d", "Date") is None
