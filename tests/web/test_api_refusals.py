"""What the API refuses before any case is touched (issue 22, sections 1 and 5): a reference two
open cases share, a start time with an offset it would drop, a contact naming nobody on record,
a decision body that is not an object. Every person, team and reference here is invented."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from domain.calendar import LONDON
from tests.case_helpers import recent_working_day
from tests.web.web_helpers import (
    add_person,
    bearer,
    http_for,
    invented_summary,
    no_temporal,
    record_summaries,
    settings_for,
)
from web.app import create_app


async def test_a_reference_two_open_cases_share_is_refused_naming_those_you_may_see(
    tmp_path: Path, case_record: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    team, other_team, ref = f"ref-{suffix}", f"ref-other-{suffix}", f"TWO-{suffix}"
    now = datetime.now(LONDON)
    # Two strategy discussions of one child in the team, and one of another team's.
    first, second, hidden = (
        invented_summary(ref, strategy=now - timedelta(days=days), deadline=now + timedelta(days=9))
        for days in (9, 2, 5)
    )
    first, second = (s.model_copy(update={"team": team}) for s in (first, second))
    hidden = hidden.model_copy(update={"team": other_team})
    record_summaries(case_record, [first, second, hidden])
    settings = settings_for(tmp_path)
    add_person(settings, f"tm-{suffix}", "team_manager", teams=[team])
    headers = bearer(settings, f"tm-{suffix}")
    async with http_for(create_app(settings, no_temporal)) as http:
        read = await http.get(f"/api/v1/cases/{ref}", headers=headers)
        decided = await http.post(
            f"/api/v1/cases/{ref}/decisions", json={"kind": "confirm_icpc"}, headers=headers
        )
        listed = await http.post(
            f"/api/v1/cases/{ref}/decisions", json=[{"kind": "confirm_icpc"}], headers=headers
        )
    for answer in (read, decided):
        assert answer.status_code == 422, answer.text
        assert answer.json()["title"] == "The case reference names more than one case"
        assert answer.json()["detail"] == (
            f"2 open cases have the reference {ref}: {second.case_id}, {first.case_id}."
            " Give the workflow id of the one you mean."
        )
        assert hidden.case_id not in answer.text  # scoped: another team's case is not named
    # A body that is not an object is input to correct, in one line.
    assert listed.status_code == 422, listed.text
    assert listed.headers["content-type"] == "application/problem+json"


async def test_a_start_time_with_an_offset_and_a_contact_naming_nobody_are_refused(
    tmp_path: Path,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    settings = settings_for(tmp_path)
    add_person(settings, f"bss-{suffix}", "cp_conference_service")
    headers = bearer(settings, f"bss-{suffix}")
    start = {
        "procedure": "bct-management-note",
        "case_reference": f"OFF-{suffix}",
        "family_reference": "FAM-1",
        "strategy_date": recent_working_day().isoformat(),
    }
    async with http_for(create_app(settings, no_temporal)) as http:
        offset = await http.post(
            "/api/v1/cases", json={**start, "strategy_time": "10:30+05:00"}, headers=headers
        )
        nobody = await http.post(
            "/api/v1/cases",
            json={
                **start,
                "social_worker_name": "Nobody Example",
                "social_worker_email": "nobody@staff.example.org",
                "social_worker_user": f"ghost-{suffix}",
            },
            headers=headers,
        )
    assert offset.status_code == 422, offset.text
    assert offset.json()["detail"] == (
        "strategy_time 10:30+05:00 carries a UTC offset: it is read as London time, so give the"
        " time as the clocks in London showed it, like 10:30, without an offset"
    )
    # The allocation rule (domain.scoping.may_be_allocated) already refuses a person not on
    # record; through the API start it is a 403 with that reason, and nothing starts.
    assert nobody.status_code == 403, nobody.text
    assert nobody.json()["detail"] == f"There is no person 'ghost-{suffix}'."
