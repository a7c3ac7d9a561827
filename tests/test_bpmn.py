"""Each installed procedure as BPMN 2.0: valid against the OMG's schema, clean under bpmnlint,
and saying what the procedure says (lanes per role, a timer and an escalation per milestone,
messages for decisions); the same facts in words; ``icpc procedures show ID --bpmn FILE``.

The schema files are the OMG's BPMN 2.0 XSDs, vendored under tests/bpmn_schema (see its
README). bpmnlint comes from the npm registry, pinned in tests/bpmnlint/package-lock.json and
installed there with ``npm ci`` on first use; without Node.js the lint is skipped on a
developer's machine and fails in CI (``CI`` set, or ``ICPC_REQUIRE_NODE=1`` as .ci/run sets).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest
import xmlschema

from domain.procedure import Procedure
from procedures import load_all
from procedures.bpmn import BPMN, BPMNDI, DC, DI, shape_count, to_bpmn
from procedures.process_map import describe
from starters.cli import main

HERE = Path(__file__).parent
SCHEMA = HERE / "bpmn_schema" / "BPMN20.xsd"
LINT_DIR = HERE / "bpmnlint"
LINT_BIN = LINT_DIR / "node_modules" / ".bin" / "bpmnlint"
PROCEDURES = load_all()
IDS = sorted(PROCEDURES)
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI}


@cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def parsed(procedure: Procedure) -> ET.Element:
    return ET.fromstring(to_bpmn(procedure))


def by_id(root: ET.Element) -> dict[str, ET.Element]:
    return {e.attrib["id"]: e for e in root.iter() if "id" in e.attrib}


def local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[1]


# --- the schema ------------------------------------------------------------------------------


@pytest.mark.parametrize("procedure_id", IDS)
def test_the_export_is_valid_bpmn_2(procedure_id: str) -> None:
    errors = [str(e) for e in schema().iter_errors(to_bpmn(PROCEDURES[procedure_id]))]
    assert errors == []


def test_the_schema_check_catches_a_broken_document() -> None:
    text = to_bpmn(PROCEDURES[IDS[0]]).replace('cancelActivity="false"', 'cancelActivity="no"')
    assert not schema().is_valid(text)


# --- what the diagram says -------------------------------------------------------------------


@pytest.mark.parametrize("procedure_id", IDS)
def test_each_milestone_is_a_task_with_a_timer_and_an_escalation(procedure_id: str) -> None:
    procedure = PROCEDURES[procedure_id]
    root = parsed(procedure)
    elements = by_id(root)
    lanes = {
        lane.attrib["name"]: {ref.text for ref in lane.findall("bpmn:flowNodeRef", NS)}
        for lane in root.iter(f"{{{BPMN}}}lane")
    }
    for m in procedure.milestones:
        task = elements[f"Task_{m.id}"]
        assert local(task) in ("receiveTask", "sendTask") and task.attrib["name"] == m.title
        assert task.attrib["id"] in lanes[procedure.role(m.responsible).title]
        timer = elements[f"Due_{m.id}"]
        assert (
            local(timer) == "boundaryEvent" and timer.attrib["attachedToRef"] == task.attrib["id"]
        )
        assert timer.attrib["cancelActivity"] == "false"  # the wait goes on after it
        assert timer.find("bpmn:timerEventDefinition/bpmn:timeDate", NS) is not None
        escalated = elements[f"Overdue_{m.id}"]
        assert escalated.find("bpmn:escalationEventDefinition", NS) is not None
        for role in m.escalate_to:
            assert procedure.role(role).title in escalated.attrib["name"]
        # The decision meeting it is a message the task waits for.
        message = elements[task.attrib["messageRef"]]
        assert local(message) == "message" and message.attrib["name"]


@pytest.mark.parametrize("procedure_id", IDS)
def test_every_element_has_a_shape_and_every_flow_a_path(procedure_id: str) -> None:
    procedure = PROCEDURES[procedure_id]
    root = parsed(procedure)
    process = root.find("bpmn:process", NS)
    assert process is not None
    nodes = [
        e
        for e in process.iter()
        if "id" in e.attrib
        and local(e) not in ("laneSet", "sequenceFlow")
        and not local(e).endswith("EventDefinition")
        and e is not process
    ]
    flows = [e.attrib["id"] for e in process.iter(f"{{{BPMN}}}sequenceFlow")]
    shapes = {s.attrib["bpmnElement"]: s for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    edges = {e.attrib["bpmnElement"]: e for e in root.iter(f"{{{BPMNDI}}}BPMNEdge")}
    assert {n.attrib["id"] for n in nodes} <= set(shapes)
    assert set(flows) == set(edges)
    assert len(shapes) == shape_count(procedure)  # pool, lanes and flow nodes
    for edge in edges.values():
        assert len(edge.findall("di:waypoint", NS)) >= 2
    # Every shape inside the pool.
    pool = next(s for k, s in shapes.items() if k.startswith("Participant_"))
    pool_bounds = pool.find("dc:Bounds", NS)
    assert pool_bounds is not None
    px, py = float(pool_bounds.attrib["x"]), float(pool_bounds.attrib["y"])
    pw, ph = float(pool_bounds.attrib["width"]), float(pool_bounds.attrib["height"])
    for shape in shapes.values():
        b = shape.find("dc:Bounds", NS)
        assert b is not None
        x, y = float(b.attrib["x"]), float(b.attrib["y"])
        assert px <= x and x + float(b.attrib["width"]) <= px + pw
        assert py <= y and y + float(b.attrib["height"]) <= py + ph


def test_the_export_is_the_same_every_time() -> None:
    procedure = PROCEDURES["man13-qarss"]
    assert to_bpmn(procedure) == to_bpmn(procedure)


def test_a_withdrawal_ends_the_case_and_a_delay_is_decided_any_time() -> None:
    procedure = PROCEDURES["bct-management-note"]
    elements = by_id(parsed(procedure))
    withdrawn = elements["Withdrawn_confirm_or_withdraw"]
    assert withdrawn.attrib["cancelActivity"] == "true"
    closed = elements["Closed_confirm_or_withdraw"]
    assert closed.find("bpmn:terminateEventDefinition", NS) is not None
    delay = elements["Sub_delay"]
    assert delay.attrib["triggeredByEvent"] == "true"
    start = delay.find("bpmn:startEvent", NS)
    assert start is not None and start.attrib["isInterrupting"] == "false"
    assert start.find("bpmn:messageEventDefinition", NS) is not None
    venue = elements["Sub_capacity_no_venue"]
    end = venue.find("bpmn:endEvent", NS)
    assert end is not None and "Corporate accommodation lead" in end.attrib["name"]


# --- in words --------------------------------------------------------------------------------


@pytest.mark.parametrize("procedure_id", IDS)
def test_the_words_tell_each_role_its_steps(procedure_id: str) -> None:
    procedure = PROCEDURES[procedure_id]
    text = describe(procedure)
    steps = {(r.id, s.title) for r in text.roles for s in r.steps}
    assert steps == {(m.responsible, m.title) for m in procedure.milestones}
    deadline = next(s for r in text.roles for s in r.steps if s.statutory)
    assert deadline.due == "By working day 15 after the strategy discussion"


def test_the_words_name_due_days_and_who_is_told() -> None:
    text = describe(PROCEDURES["bct-management-note"])
    social_worker = next(r for r in text.roles if r.id == "social_worker")
    sheet = next(s for s in social_worker.steps if "convening checklist" in s.title)
    assert sheet.due == "By working day 7 after the strategy discussion"
    assert sheet.met_by == "Record the convening sheet"
    assert sheet.if_late == "Team manager and CP conference service (business support) are told"
    assert any("No suitable venue" in item for item in text.at_any_time)


# --- the command -----------------------------------------------------------------------------


def test_icpc_procedures_show_writes_the_bpmn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "bct.bpmn"
    assert main(["procedures", "show", "bct-management-note", "--bpmn", str(target)]) == 0
    assert schema().is_valid(target.read_text(encoding="utf-8"))
    assert str(target) in capsys.readouterr().out


def test_icpc_procedures_show_tells_the_procedure_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["procedures", "show", "man13-qarss"]) == 0
    out = capsys.readouterr().out
    assert "ICPC held within 15 working days" in out
    assert "Due: By working day 15 after the strategy discussion." in out


def test_icpc_procedures_show_refuses_an_unknown_procedure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["procedures", "show", "no-such-procedure"]) == 2
    assert "unknown procedure 'no-such-procedure'" in capsys.readouterr().err


# --- bpmnlint ----------------------------------------------------------------------------------


def lint_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("ICPC_REQUIRE_NODE") == "1"


def bpmnlint() -> list[str]:
    """The pinned bpmnlint, installed with ``npm ci`` on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "Node.js and npm are needed for bpmnlint (apt-get install nodejs npm)"
        if lint_required():
            pytest.fail(message + "; required here (CI or ICPC_REQUIRE_NODE=1)")
        pytest.skip(message)
    if not LINT_BIN.exists():
        result = subprocess.run(
            [npm, "ci", "--prefix", str(LINT_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0 or not LINT_BIN.exists():
            pytest.fail(f"npm could not install bpmnlint:\n{result.stdout}\n{result.stderr}")
    return [node, str(LINT_DIR / "node_modules" / "bpmnlint" / "bin" / "bpmnlint.js")]


def test_bpmnlint_finds_nothing_in_any_procedure(tmp_path: Path) -> None:
    command = bpmnlint()
    files = []
    for procedure_id in IDS:
        path = tmp_path / f"{procedure_id}.bpmn"
        path.write_text(to_bpmn(PROCEDURES[procedure_id]), encoding="utf-8")
        files.append(str(path))
    config = str(LINT_DIR / ".bpmnlintrc")
    result = subprocess.run(
        [*command, "--config", config, "--max-warnings=0", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    # And it does lint: a flow node without a name is an error.
    broken = tmp_path / "broken.bpmn"
    broken.write_text(
        to_bpmn(PROCEDURES[IDS[0]]).replace('name="ICPC withdrawn"', "", 1), encoding="utf-8"
    )
    result = subprocess.run(
        [*command, "--config", config, str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "label-required" in result.stdout
