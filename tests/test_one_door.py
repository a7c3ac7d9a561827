"""One door (issue 21): a person holding only a person token and the service's address can do
their work through the command line, within their scope and nothing else; every read is
audited; the API refuses what the web form refuses, in the same words.

The command line runs in a subprocess with a clean environment: no Temporal address, no
database address, no payload key. Every person, team and reference here is invented.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from activities.record import record_store
from domain.case_state import CaseState
from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from tests.case_helpers import person_token, recent_working_day
from tests.service_helpers import RunningService
from tests.web.conftest import after_deadline

ROOT = Path(__file__).resolve().parent.parent
# Runs the command, then says which of the service's own modules it imported (none may be).
RUN = (
    "import sys\n"
    "from starters.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "inside = ('temporalio', 'records', 'workers', 'sqlalchemy')\n"
    "bad = sorted(m for m in sys.modules if m.split('.')[0] in inside or m == 'contracts.client')\n"
    "print('IMPORTED ' + ' '.join(bad[:5]), file=sys.stderr) if bad else None\n"
    "sys.exit(code)\n"
)


def clean_env(url: str, token: str | None) -> dict[str, str]:
    """What a person's machine has: the service's address and their token, nothing else."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    env.update(PYTHONPATH=str(ROOT), ICPC_SERVICE_URL=url, LANG="C.UTF-8")
    if token is not None:
        env["ICPC_PERSON_TOKEN"] = token
    return env


async def icpc_alone(url: str, token: str | None, *argv: str) -> tuple[int, str, str]:
    """``icpc ARGV`` in its own process, with only :func:`clean_env`."""

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", RUN, *argv],
            env=clean_env(url, token),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = await asyncio.to_thread(run)
    assert "IMPORTED" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


def audit_rows(**filters: str) -> list[AuditEntry]:
    return list(AuditLog(record_store().engine).read(**filters))  # type: ignore[arg-type]


def start_argv(ref: str, team: str, manager: str) -> list[str]:
    return [
        "start", "--procedure", "bct-management-note", "--case-reference", ref,
        "--family-reference", "FAM-1", "--strategy-date", recent_working_day().isoformat(),
        "--team", team, "--contact", f"team_manager:Tia:tia@staff.example.org:{manager}",
    ]  # fmt: skip


async def test_a_token_and_the_address_are_all_a_person_needs_within_their_scope(
    service: RunningService,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    team, other_team = f"door-{suffix}", f"door-other-{suffix}"
    tia, tim = f"tia-{suffix}", f"tim-{suffix}"
    tia_token = person_token(tia, "team_manager", teams=[team])
    tim_token = person_token(tim, "team_manager", teams=[other_team])
    ref, other_ref = f"DOOR-{suffix}", f"DOOR-OTHER-{suffix}"

    code, out, err = await icpc_alone(service.url, tia_token, *start_argv(ref, team, tia))
    assert code == 0 and out.startswith(f"started icpc-bct-management-note-{ref}"), err
    case_id = out.split()[1]
    code, out, err = await icpc_alone(
        service.url, tim_token, *start_argv(other_ref, other_team, tim)
    )
    assert code == 0, err
    other_id = out.split()[1]

    code, out, err = await icpc_alone(service.url, tia_token, "decide", ref, "confirm_icpc")
    assert code == 0 and out.startswith("accepted: ICPC confirmed"), (out, err)
    code, out, err = await icpc_alone(service.url, tia_token, "show", ref)
    assert code == 0 and f"Case {case_id}" in out and "ICPC confirmed" in out, err
    for _ in range(100):  # the record is written a moment after the start
        code, out, err = await icpc_alone(service.url, tia_token, "cases", "--reference", ref)
        if case_id in out:
            break
        await asyncio.sleep(0.1)
    assert code == 0 and case_id in out, err
    _, listed, _ = await icpc_alone(service.url, tia_token, "cases", "--status", "all")
    assert other_id not in listed

    # Another team's case: not there to show (the answer for a case that does not exist),
    # and refused to decide.
    _, _, missing = await icpc_alone(service.url, tia_token, "show", f"NOPE-{suffix}")
    for case in (other_ref, other_id):
        code, out, err = await icpc_alone(service.url, tia_token, "show", case)
        assert (code, out) == (2, ""), err
        assert err.startswith("icpc show: refused: ") and err.count("\n") == 1
        assert err == missing  # nothing says the hidden case exists
    code, out, _ = await icpc_alone(
        service.url, tia_token, "decide", other_id, "confirm_icpc", "--role", "team_manager"
    )
    assert code == 1
    assert out == "refused: There is no case at this address.\n"  # as for no case at all


async def test_reading_without_a_token_is_refused_in_one_line(service: RunningService) -> None:
    for argv in (["show", "ANY-REF"], ["show", "ANY-REF", "--json"], ["cases"]):
        code, out, err = await icpc_alone(service.url, None, *argv)
        assert (code, out) == (2, ""), err
        assert err.count("\n") == 1 and f"icpc {argv[0]}: no person token" in err


def api(service: RunningService, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=service.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}
    )


async def test_every_api_read_writes_an_audit_row(service: RunningService) -> None:
    suffix = uuid.uuid4().hex[:6]
    team, tia = f"read-{suffix}", f"tia-read-{suffix}"
    token = person_token(tia, "team_manager", teams=[team])
    ref = f"READ-{suffix}"
    body = {
        "procedure": "bct-management-note",
        "case_reference": ref,
        "family_reference": "FAM-1",
        "strategy_date": recent_working_day().isoformat(),
        "team": team,
    }
    with api(service, token) as http:
        started = await asyncio.to_thread(http.post, "/cases", json=body)
        assert started.status_code == 201, started.text
        case_id = started.json()["case_id"]
        again = await asyncio.to_thread(http.post, "/cases", json=body)
        assert again.status_code == 200 and again.json() == {"case_id": case_id, "created": False}
        read = await asyncio.to_thread(http.get, f"/cases/{case_id}")
        assert read.status_code == 200, read.text
        assert read.json()["state"]["case_id"] == case_id
        listed = await asyncio.to_thread(http.get, "/cases", params={"q": ref, "status": "all"})
        assert listed.status_code == 200, listed.text
    rows = audit_rows(actor=tia)
    views = [r for r in rows if r.action == Action.VIEW_CASE and r.case_id == case_id]
    assert [(r.outcome, r.channel) for r in views] == [(Outcome.OK, Channel.API)]
    [search] = [r for r in rows if r.action == Action.LIST_CASES]
    assert search.channel == Channel.API and search.outcome == Outcome.OK
    assert f"reference={ref}" in search.detail and "status=all" in search.detail
    assert "FAM-1" not in search.detail


async def test_the_api_refuses_what_the_form_refuses_in_the_same_words(
    service: RunningService,
) -> None:
    suffix = uuid.uuid4().hex[:6]
    team, area = f"sod-{suffix}", f"sod-area-{suffix}"
    nia, sam = f"nia-{suffix}", f"sam-{suffix}"
    # One person holding both roles: she may ask for a delay, and may not approve her own.
    nia_token = person_token(
        nia, "team_manager", "area_head_of_service", teams=[team], areas=[area]
    )
    sam_token = person_token(sam, "social_worker", teams=[team])
    outsider = person_token(f"ted-{suffix}", "team_manager", teams=[f"elsewhere-{suffix}"])
    body = {
        "procedure": "bct-management-note",
        "case_reference": f"SOD-{suffix}",
        "family_reference": "FAM-1",
        "strategy_date": recent_working_day().isoformat(),
        "team": team,
        "area": area,
        "team_manager_name": "Nia",
        "team_manager_email": "nia@staff.example.org",
        "team_manager_user": nia,
        "social_worker_name": "Sam",
        "social_worker_email": "sam@staff.example.org",
        "social_worker_user": sam,
    }
    with api(service, nia_token) as http:
        started = await asyncio.to_thread(http.post, "/cases", json=body)
        assert started.status_code == 201, started.text
        case_id = started.json()["case_id"]
        decisions = f"/cases/{case_id}/decisions"

        forged = await asyncio.to_thread(
            http.post,
            decisions,
            json={"kind": "confirm_icpc", "decided_by": {"user": sam, "role": "social_worker"}},
        )
        assert forged.status_code == 422 and "decided_by" in forged.json()["detail"]

        read = (await asyncio.to_thread(http.get, f"/cases/{case_id}")).json()
        state = CaseState.model_validate(read["state"])
        proposed = after_deadline(state).isoformat()
        requested = await asyncio.to_thread(
            http.post,
            decisions,
            json={
                "kind": "request_delay",
                "role": "team_manager",
                "proposed_date": proposed,
                "reason": "Key agency cannot attend within the limit",
                "safety_plan": "Daily visits by the social worker",
            },
        )
        assert requested.status_code == 200, requested.text
        assert requested.json()["accepted"] is True
        approved = await asyncio.to_thread(
            http.post, decisions, json={"kind": "approve_delay", "reason": "Approving my own"}
        )
        assert approved.status_code == 403
        assert approved.json()["detail"] == (
            "You requested this delay; someone else must decide on it."
        )
    with api(service, sam_token) as http:
        not_held = await asyncio.to_thread(
            http.post, decisions, json={"kind": "confirm_icpc", "role": "team_manager"}
        )
        assert not_held.status_code == 403
        assert not_held.json()["detail"] == "You do not hold the team manager role."
    with api(service, outsider) as http:
        out_of_scope = await asyncio.to_thread(
            http.post, decisions, json={"kind": "confirm_icpc", "role": "team_manager"}
        )
        hidden = await asyncio.to_thread(http.get, f"/cases/{case_id}")
        missing = await asyncio.to_thread(http.get, f"/cases/icpc-nothing-{suffix}")
        # Out of scope, and no role that may break glass: the answer for no case at all, to
        # a decision as to a read (the audit row below keeps the real reason).
        assert out_of_scope.status_code == hidden.status_code == missing.status_code == 404
        assert out_of_scope.json() == hidden.json() == missing.json()
    refused = [
        r for r in audit_rows(case_id=case_id) if r.action == Action.DECISION
    ]  # every refusal audited, on the API's channel
    assert {r.outcome for r in refused} >= {Outcome.OK, Outcome.REFUSED}
    assert all(r.channel == Channel.API for r in refused)
    assert any("not in your team or area" in r.detail for r in refused)
