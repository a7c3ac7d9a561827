"""A procedure as BPMN 2.0 XML with diagram interchange, for bpmn-js and Camunda Modeler.

One pool (the authority's procedure) with a lane per role that acts; each milestone a task
that waits for the decision meeting it (a message), with a non-interrupting timer at its due
moment leading to an escalation event that names who is told. Withdrawing the ICPC is a
message that ends the case; delays, capacity problems and stand-downs are event
sub-processes. :mod:`procedures.process_map` decides what is drawn and
:mod:`procedures.bpmn_layout` where; this module only writes it down. The process is a
picture of the case workflow, not something an engine runs (``isExecutable="false"``); the
timers' due moments are written in the product's own working-day terms.

Pure: the same procedure always gives the same bytes. Valid against the OMG's BPMN 2.0 XSD
(``tests/bpmn_schema``) and clean under bpmnlint's recommended rules (``tests/test_bpmn.py``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from domain.procedure import Procedure
from procedures.bpmn_layout import Box, Diagram, Point, layout
from procedures.process_map import (
    TIMER_LANGUAGE,
    Graph,
    Kind,
    Node,
    ProcessMap,
    process_map,
)

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NAMESPACES = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI}
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)

EXPORTER = "icpc-orchestrator"
EXPORTER_VERSION = "1"
CONDITION_LANGUAGE = "urn:icpc-orchestrator:words"

# Each kind of node: its BPMN element and event definition (None: no definition).
ELEMENTS: dict[Kind, tuple[str, str | None]] = {
    Kind.START: ("startEvent", None),
    Kind.MESSAGE_START: ("startEvent", "messageEventDefinition"),
    Kind.END: ("endEvent", None),
    Kind.TERMINATE_END: ("endEvent", "terminateEventDefinition"),
    Kind.ESCALATION_END: ("endEvent", "escalationEventDefinition"),
    Kind.ESCALATION_THROW: ("intermediateThrowEvent", "escalationEventDefinition"),
    Kind.REACHED: ("intermediateThrowEvent", None),
    Kind.MESSAGE_CATCH: ("intermediateCatchEvent", "messageEventDefinition"),
    Kind.TIMER_BOUNDARY: ("boundaryEvent", "timerEventDefinition"),
    Kind.MESSAGE_BOUNDARY: ("boundaryEvent", "messageEventDefinition"),
    Kind.PARALLEL: ("parallelGateway", None),
    Kind.EXCLUSIVE: ("exclusiveGateway", None),
    Kind.RECEIVE_TASK: ("receiveTask", None),
    Kind.SEND_TASK: ("sendTask", None),
    Kind.EVENT_SUBPROCESS: ("subProcess", None),
}


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _sub(parent: ET.Element, tag: str, namespace: str = BPMN, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, _q(namespace, tag), {k: v for k, v in attrs.items() if v})


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def _documentation(parent: ET.Element, text: str) -> None:
    if text:
        _sub(parent, "documentation").text = text


def _formal(parent: ET.Element, tag: str, text: str, language: str) -> None:
    element = _sub(parent, tag, language=language)
    element.set(_q(XSI, "type"), "bpmn:tFormalExpression")
    element.text = text


def _node(parent: ET.Element, node: Node, graph: Graph) -> None:
    tag, definition = ELEMENTS[node.kind]
    attrs: dict[str, str] = {"id": node.id, "name": node.name}
    if node.kind == Kind.TIMER_BOUNDARY or node.kind == Kind.MESSAGE_BOUNDARY:
        attrs["attachedToRef"] = node.attached_to or ""
        attrs["cancelActivity"] = "true" if node.interrupting else "false"
    if node.kind == Kind.MESSAGE_START:
        attrs["isInterrupting"] = "true" if node.interrupting else "false"
    if node.kind in (Kind.RECEIVE_TASK, Kind.SEND_TASK):
        attrs["messageRef"] = node.message or ""
    if node.kind == Kind.EVENT_SUBPROCESS:
        attrs["triggeredByEvent"] = "true"
    if node.default_flow:
        attrs["default"] = node.default_flow
    element = _sub(parent, tag, **attrs)
    _documentation(element, node.documentation)
    for f in graph.incoming(node.id):
        _sub(element, "incoming").text = f.id
    for f in graph.outgoing(node.id):
        _sub(element, "outgoing").text = f.id
    if definition == "messageEventDefinition":
        _sub(element, definition, id=f"{node.id}_message", messageRef=node.message or "")
    elif definition == "escalationEventDefinition":
        _sub(element, definition, id=f"{node.id}_escalation", escalationRef=node.escalation or "")
    elif definition == "terminateEventDefinition":
        _sub(element, definition, id=f"{node.id}_terminate")
    elif definition == "timerEventDefinition":
        timer = _sub(element, definition, id=f"{node.id}_timer")
        _formal(timer, "timeDate", node.timer or "", TIMER_LANGUAGE)
    if node.inside is not None:
        _flow_elements(element, node.inside)


def _flow_elements(parent: ET.Element, graph: Graph) -> None:
    for node in graph.nodes:
        _node(parent, node, graph)
    for f in graph.flows:
        flow = _sub(parent, "sequenceFlow", id=f.id, name=f.name, sourceRef=f.source)
        flow.set("targetRef", f.target)
        if f.condition:
            _formal(flow, "conditionExpression", f.condition, CONDITION_LANGUAGE)


def _bounds(parent: ET.Element, box: Box) -> None:
    _sub(
        parent,
        "Bounds",
        DC,
        x=_number(box.x),
        y=_number(box.y),
        width=_number(box.w),
        height=_number(box.h),
    )


def _shape(plane: ET.Element, element_id: str, box: Box, **attrs: str) -> None:
    shape = _sub(plane, "BPMNShape", BPMNDI, id=f"{element_id}_di", bpmnElement=element_id)
    for k, v in attrs.items():
        shape.set(k, v)
    _bounds(shape, box)


def _edge(plane: ET.Element, flow_id: str, points: list[Point]) -> None:
    edge = _sub(plane, "BPMNEdge", BPMNDI, id=f"{flow_id}_di", bpmnElement=flow_id)
    for x, y in points:
        _sub(edge, "waypoint", DI, x=_number(x), y=_number(y))


def _all_nodes(graph: Graph) -> list[Node]:
    found: list[Node] = []
    for n in graph.nodes:
        found.append(n)
        if n.inside is not None:
            found += _all_nodes(n.inside)
    return found


def _all_flow_ids(graph: Graph) -> list[str]:
    found = [f.id for f in graph.flows]
    for n in graph.nodes:
        if n.inside is not None:
            found += _all_flow_ids(n.inside)
    return found


def write(process: ProcessMap, diagram: Diagram) -> str:
    pid = process.procedure_id.replace("-", "_")
    definitions = ET.Element(
        _q(BPMN, "definitions"),
        {
            "id": f"Definitions_{pid}",
            "targetNamespace": f"urn:icpc-orchestrator:procedures:{process.procedure_id}",
            "exporter": EXPORTER,
            "exporterVersion": EXPORTER_VERSION,
        },
    )
    collaboration = _sub(definitions, "collaboration", id=f"Collaboration_{pid}")
    _sub(
        collaboration,
        "participant",
        id=f"Participant_{pid}",
        name=process.name,
        processRef=f"Process_{pid}",
    )
    proc = _sub(definitions, "process", id=f"Process_{pid}", name=process.name)
    proc.set("isExecutable", "false")
    lane_set = _sub(proc, "laneSet", id=f"LaneSet_{pid}")
    for lane in process.lanes:
        element = _sub(lane_set, "lane", id=f"Lane_{lane.id}", name=lane.name)
        for node in process.graph.nodes:
            if node.lane == lane.id:
                _sub(element, "flowNodeRef").text = node.id
    _flow_elements(proc, process.graph)
    for message_id, name in process.messages.items():
        _sub(definitions, "message", id=message_id, name=name)
    for escalation_id, (name, code) in process.escalations.items():
        _sub(definitions, "escalation", id=escalation_id, name=name, escalationCode=code)

    bpmn_diagram = _sub(definitions, "BPMNDiagram", BPMNDI, id=f"Diagram_{pid}")
    plane = _sub(
        bpmn_diagram, "BPMNPlane", BPMNDI, id=f"Plane_{pid}", bpmnElement=f"Collaboration_{pid}"
    )
    _shape(plane, f"Participant_{pid}", diagram.pool, isHorizontal="true")
    for lane in process.lanes:
        _shape(plane, f"Lane_{lane.id}", diagram.lanes[lane.id], isHorizontal="true")
    for node in _all_nodes(process.graph):
        extra = {"isExpanded": "true"} if node.kind == Kind.EVENT_SUBPROCESS else {}
        _shape(plane, node.id, diagram.shapes[node.id], **extra)
    for flow_id in _all_flow_ids(process.graph):
        _edge(plane, flow_id, diagram.edges[flow_id])

    ET.indent(definitions, space="  ")
    text = ET.tostring(definitions, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n'


def to_bpmn(procedure: Procedure) -> str:
    """The procedure as a BPMN 2.0 document (XML text, UTF-8 declared)."""
    process = process_map(procedure)
    return write(process, layout(process))


def shape_count(procedure: Procedure) -> int:
    """How many shapes the diagram has (pool, lanes and every flow node): what a viewer draws."""
    process = process_map(procedure)
    return 1 + len(process.lanes) + len(_all_nodes(process.graph))
