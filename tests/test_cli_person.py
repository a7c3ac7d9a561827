"""The command line acts as a person (issue 12): identified by their own token, in scope for the
case, holding the role they decide in; every attempt audited. Through the service (the web service
and a worker on a real dev server, in this process, with the session's case record): the command
line holds only the service's address and the person's token.

Every person, team and area here is invented.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from activities.record import record_store
from records.audit import Action, AuditEntry, AuditLog, Channel, Outcome
from tests.case_helpers import icpc, person_token, recent_working_day
from tests.service_helpers import RunningService


class People:
    """Invented people for one test, each id unique to it, with a token file each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.suffix = uuid.uuid4().hex[:6]
        self.team = f"team-{self.suffix}"
        self.area = f"area-{self.suffix}"

    def id(self, name: str) -> str:
        return f"{name}-{self.suffix}"

    def add(self, name: str, *roles: str, **units: object) -> list[str]:
        """The person; the ``--token-file`` arguments that act as them."""
        token = person_token(self.id(name), *roles, **units)  # type: ignore[arg-type]
        path = self.folder / f"{name}.token"
        path.write_text(token + "\n")
        path.chmod(0o600)
        return ["--token-file", str(path)]


@pytest.fixture
def people(tmp_path: Path) -> People:
    return People(tmp_path)


def audit_rows(case_id: str | None = None, actor: str | None = None) -> list[AuditEntry]:
    return list(AuditLog(record_store().engine).read(case_id=case_id, actor=actor))


async def start_case(
    capsys: pytest.CaptureFixture[str], people: People, ref: str, *extra: str
) -> str:
    """A bct case for the people's team and area, allocated to sam and tia (added if the test
    has not), started by bss."""
    bss = people.add("bss", "cp_conference_service", service_wide=True)
    person_token(people.id("sam"), "social_worker", teams=[people.team])
    person_token(people.id("tia"), "team_manager", teams=[people.team])
    code, out, err = await icpc(
        capsys, "start", "--procedure", "bct-management-note", "--case-reference", ref,
        "--family-reference", "FAM-1", "--strategy-date", recent_working_day().isoformat(),
        "--team", people.team, "--area", people.area,
        "--contact", f"social_worker:Sam:sam@staff.example.org:{people.id('sam')}",
        "--contact", f"team_manager:Tia:tia@staff.example.org:{people.id('tia')}",
        *bss, *extra,
    )  # fmt: skip
    assert code == 0, (out, err)
    case_id = out.split()[1]
    [started] = [r for r in audit_rows(case_id) if r.action == Action.START_CASE]
    assert (started.actor, started.outcome, started.channel) == (
        people.id("bss"),
        Outcome.OK,
        Channel.API,
    )
    return case_id


async def until(check: Callable[[], bool]) -> None:
    for _ in range(100):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not within 10 s")


async def test_a_social_worker_cannot_act_as_team_manager_and_the_refusal_is_audited(
    service: RunningService, capsys: pytest.CaptureFixture[str], people: People
) -> None:
    sam = people.add("sam", "social_worker", teams=[people.team])
    case_id = await start_case(capsys, people, f"PSN-{people.suffix}")

    code, out, err = await icpc(
        capsys, "decide", case_id, "confirm_icpc", "--by", people.id("sam"),
        "--role", "team_manager", *sam,
    )  # fmt: skip
    assert code == 1, err
    assert out == "refused: You do not hold the team manager role.\n"
    [row] = [r for r in audit_rows(case_id) if r.action == Action.DECISION]
    assert (row.actor, row.actor_role, row.outcome, row.channel) == (
        people.id("sam"),
        "team_manager",
        Outcome.REFUSED,
        Channel.API,
    )
    assert "You do not hold the team manager role." in row.detail

    # --by naming someone else is refused too: the decision is recorded as the token's person.
    code, out, _ = await icpc(
        capsys, "decide", case_id, "confirm_icpc", "--by", people.id("tia"),
        "--role", "social_worker", *sam,
    )  # fmt: skip
    assert code == 1 and out.startswith(f"refused: Your token is {people.id('sam')}'s")

    # As herself, in her own role (found without --role: the one she may decide in), accepted.
    code, out, _ = await icpc(capsys, "decide", case_id, "confirm_icpc", *sam)
    assert code == 0 and out.startswith("accepted: ICPC confirmed"), out
    rows = [r for r in audit_rows(case_id) if r.action == Action.DECISION]
    assert (rows[0].outcome, rows[0].actor, rows[0].actor_role) == (
        Outcome.OK,
        people.id("sam"),
        "social_worker",
    )
    store = record_store()
    await until(
        lambda: any(
            e.event == "confirm_icpc" and e.by is not None and e.by.user == people.id("sam")
            for _, e in store.timeline(case_id)
        )
    )


async def test_an_unknown_token_is_refused_and_audited(
    service: RunningService,
    capsys: pytest.CaptureFixture[str],
    people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = await start_case(capsys, people, f"UNK-{people.suffix}")
    monkeypatch.setenv("ICPC_PERSON_TOKEN", "icpc_" + "x" * 43)
    code, out, err = await icpc(
        capsys, "decide", case_id, "confirm_icpc", "--by", "sam", "--role", "social_worker"
    )
    assert code == 2 and out == ""
    assert (
        "icpc decide: refused: The person token is unknown, revoked, or its person is"
        " disabled.\n" in err
    )
    # Nobody decided: the service refused the token before reading the case.
    assert not [r for r in audit_rows(case_id) if r.action == Action.DECISION]

    monkeypatch.delenv("ICPC_PERSON_TOKEN")
    code, _, err = await icpc(capsys, "decide", case_id, "confirm_icpc", "--role", "social_worker")
    assert code == 2 and "icpc decide: no person token: give --token-file FILE" in err


async def test_another_teams_manager_is_refused_the_teams_manager_is_not(
    service: RunningService, capsys: pytest.CaptureFixture[str], people: People
) -> None:
    case_id = await start_case(capsys, people, f"TMS-{people.suffix}")
    ted = people.add("ted", "team_manager", teams=[f"other-{people.suffix}"])
    tom = people.add("tom", "team_manager", teams=[people.team])

    code, out, _ = await icpc(
        capsys, "decide", case_id, "confirm_icpc", "--role", "team_manager", *ted
    )
    # Out of scope and no break-glass role: the same answer as for no case at all; the audit
    # row keeps the real reason.
    assert code == 1
    assert out == "refused: There is no case at this address.\n"
    code, out, _ = await icpc(capsys, "decide", case_id, "confirm_icpc", *tom)
    assert code == 0 and out.startswith("accepted: ICPC confirmed"), out
    outcomes = [(r.actor, r.outcome) for r in audit_rows(case_id) if r.action == Action.DECISION]
    assert outcomes == [(people.id("tom"), Outcome.OK), (people.id("ted"), Outcome.REFUSED)]


async def test_reassigning_picks_a_person_of_the_cases_team(
    service: RunningService, capsys: pytest.CaptureFixture[str], people: People
) -> None:
    tia = people.add("tia", "team_manager", teams=[people.team])
    sam = people.add("sam", "social_worker", teams=[people.team])
    people.add("sol", "social_worker", teams=[people.team])
    people.add("sue", "social_worker", teams=[f"other-{people.suffix}"])
    case_id = await start_case(capsys, people, f"RSN-{people.suffix}")

    code, out, _ = await icpc(
        capsys, "decide", case_id, "reassign_worker", "--person", people.id("sue"), *tia
    )
    assert code == 1
    sue = people.id("sue").title()  # her name on record
    assert out == f"refused: {sue} is not in this case's team ({people.team}).\n"

    code, _, err = await icpc(
        capsys, "decide", case_id, "reassign_worker", *tia,
    )  # fmt: skip
    assert code == 2 and "give --person ID" in err

    code, out, _ = await icpc(
        capsys, "decide", case_id, "reassign_worker", "--person", people.id("sol"), *tia
    )
    assert code == 0 and out.startswith("accepted: Social worker reassigned"), out

    # The record follows: the case is now Sol's, and Sam's no longer.
    store = record_store()
    await until(
        lambda: (
            (scope := store.scope(case_id)) is not None
            and ("social_worker", people.id("sol")) in scope.allocated
        )
    )
    code, out, _ = await icpc(capsys, "decide", case_id, "confirm_icpc", *sam)
    # No longer his, and no break-glass role: as for no case at all (the audit keeps why).
    assert code == 1 and out == "refused: There is no case at this address.\n", out

    # Chasing emails now go to the address on Sol's record.
    _, shown, _ = await icpc(capsys, "show", case_id, "--json", *tia)
    assert f"{people.id('sol')}@staff.example.org" in shown


async def test_a_team_manager_may_not_choose_who_approves_their_delays(
    service: RunningService, capsys: pytest.CaptureFixture[str], people: People
) -> None:
    """The web form gives a case only a new social worker, and so does the service's API that
    the command line calls: a team manager cannot give the case another area head of service,
    who would approve his delays (the rule itself, for any face: domain.scoping.may_reassign,
    tests/test_scoping.py)."""
    tia = people.add("tia", "team_manager", teams=[people.team])
    people.add("hob", "area_head_of_service", areas=[people.area])
    case_id = await start_case(capsys, people, f"HOS-{people.suffix}")
    code, _, err = await icpc(
        capsys, "decide", case_id, "reassign_worker", "--person", people.id("hob"),
        "--person-role", "area_head_of_service", *tia,
    )  # fmt: skip
    assert code == 2
    assert "person_role: only the social worker is reassigned" in err
    shown = json.loads((await icpc(capsys, "show", case_id, "--json", *tia))[1])
    assert people.id("hob") not in json.dumps(shown)


async def test_a_start_allocates_only_people_on_record_in_the_cases_units(
    service: RunningService,
    capsys: pytest.CaptureFixture[str],
    people: People,
    tmp_path: Path,
) -> None:
    bss = people.add("bss", "cp_conference_service", service_wide=True)
    people.add("sue", "social_worker", teams=[f"other-{people.suffix}"])
    ref = f"ALC-{people.suffix}"
    start = [
        "start", "--procedure", "bct-management-note", "--family-reference", "FAM-1",
        "--strategy-date", recent_working_day().isoformat(), "--team", people.team, *bss,
    ]  # fmt: skip
    code, _, err = await icpc(
        capsys, *start, "--case-reference", ref,
        "--contact", f"social_worker:Nobody:n@staff.example.org:{people.id('nobody')}",
    )  # fmt: skip
    assert code == 2 and f"refused: There is no person '{people.id('nobody')}'." in err
    code, _, err = await icpc(
        capsys, *start, "--case-reference", ref,
        "--contact", f"social_worker:Sue:sue@staff.example.org:{people.id('sue')}",
    )  # fmt: skip
    sue = people.id("sue").title()
    assert code == 2 and f"refused: {sue} is not in this case's team ({people.team})." in err

    csv_file = tmp_path / "batch.csv"
    csv_file.write_text(
        "procedure,case_reference,family_reference,strategy_date,team,social_worker_name,"
        "social_worker_email,social_worker_user\n"
        f"bct-management-note,{ref},FAM-2,{recent_working_day()},{people.team},Sue,"
        f"sue@staff.example.org,{people.id('sue')}\n",
        encoding="utf-8",
    )
    code, out, err = await icpc(capsys, "import", str(csv_file), *bss)
    assert code == 1 and "0 started" in out
    assert f"{csv_file}:2: refused: {sue} is not in this case's team" in err
    assert not record_store().find(ref)


async def test_starting_needs_sight_of_the_case_and_import_names_a_refused_row(
    service: RunningService,
    capsys: pytest.CaptureFixture[str],
    people: People,
    tmp_path: Path,
) -> None:
    ted = people.add("ted", "team_manager", teams=[f"other-{people.suffix}"])
    ref = f"STR-{people.suffix}"
    code, out, err = await icpc(
        capsys, "start", "--procedure", "bct-management-note", "--case-reference", ref,
        "--family-reference", "FAM-1", "--strategy-date", recent_working_day().isoformat(),
        "--team", people.team, *ted,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert (
        "icpc start: refused: You could not see this case once started: This case is not in"
        " your team or area, and is not allocated to you.\n" in err
    )
    refused = [r for r in audit_rows(actor=people.id("ted")) if r.action == Action.START_CASE]
    assert [r.outcome for r in refused] == [Outcome.REFUSED]

    day = recent_working_day()
    csv_file = tmp_path / "batch.csv"
    csv_file.write_text(
        "procedure,case_reference,family_reference,strategy_date,team,area\n"
        f"bct-management-note,{ref}-A,FAM-2,{day},other-{people.suffix},\n"
        f"bct-management-note,{ref}-B,FAM-2,{day},{people.team},{people.area}\n",
        encoding="utf-8",
    )
    code, out, err = await icpc(capsys, "import", str(csv_file), *ted)
    assert code == 1
    assert "1 started, 0 already existed, 1 bad row(s) of 2" in out
    assert f"{csv_file}:3: refused: You could not see this case once started" in err
    store = record_store()
    await until(lambda: bool(store.find(f"{ref}-A")))
    [summary] = store.find(f"{ref}-A")
    assert (summary.team, summary.area) == (f"other-{people.suffix}", None)


async def test_a_decision_temporal_did_not_answer_says_it_is_not_known_and_is_audited(
    service: RunningService,
    capsys: pytest.CaptureFixture[str],
    people: People,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server going away mid-decision (the fault tests kill it): one line saying the
    outcome is not known and how to find out, never a trace or a bare transport error."""
    from temporalio.service import RPCError, RPCStatusCode

    import web.deciding

    sam = people.add("sam", "social_worker", teams=[people.team])
    case_id = await start_case(capsys, people, f"GONE-{people.suffix}")

    async def server_gone(*args: object, **kwargs: object) -> None:
        raise RPCError("tcp connect error", RPCStatusCode.UNAVAILABLE, b"")

    monkeypatch.setattr(web.deciding, "send_decision", server_gone)
    code, out, err = await icpc(capsys, "decide", case_id, "confirm_icpc", *sam)
    assert code != 0 and out == ""
    assert "whether the decision was taken is not known" in err
    assert f"icpc show {case_id}" in err and "Traceback" not in err
    [row] = [r for r in audit_rows(case_id) if r.action == Action.DECISION]
    assert (row.actor, row.outcome) == (people.id("sam"), Outcome.UNKNOWN)
