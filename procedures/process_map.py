"""A procedure as a process: who waits for what, by when, and who is told when it is late.

Pure: the same procedure always gives the same map. :mod:`procedures.bpmn` draws it as BPMN 2.0
(lanes per role, timer events for milestones, message events for decisions, escalation events),
and :func:`describe` tells the same facts in words, for the page beside the diagram.

The map is the case workflow's point of view. It starts at the strategy discussion (day 0);
each milestone is a task in the lane of the role responsible, waiting for the decision that
meets it (a message) with a timer at its due moment that escalates, without ending the wait,
to the roles the procedure names. Milestones that count from the same moment run side by side;
one that counts from a later moment (the convening sheet received, the conference booked)
follows the step that brings that moment about. The ICPC itself comes last; after it, for a
child protection plan, the plan's own milestones. Decisions that can come at any time while
the case is open (a delay, a capacity problem, a stand-down) are event sub-processes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from domain.case_rules import CASE_PATH
from domain.plan_rules import PLAN_PATH
from domain.procedure import ICPC_DEADLINE_ID, Milestone, Phase, Procedure
from domain.vocabulary import Anchor, DecisionKind, SystemEvent
from domain.wording import capitalised, role_title

# What a milestone counts from, in running text.
ANCHOR_WORDS: dict[Anchor, str] = {
    Anchor.STRATEGY_DISCUSSION: "the strategy discussion",
    Anchor.CONVENING_SHEET_RECEIVED: "the convening sheet is received",
    Anchor.CONFERENCE_BOOKED: "the conference is booked",
    Anchor.CONFERENCE_DATE: "the conference",
    Anchor.CONFERENCE_HELD: "the ICPC",
    Anchor.PLAN_STARTED: "the plan starts",
    Anchor.REVIEW_DATE: "the review conference",
}
ANCHOR_ORDER = list(Anchor)
# The expression language of the timers' due moments: working days, as the product counts them.
TIMER_LANGUAGE = "urn:icpc-orchestrator:working-days"


class Kind(StrEnum):
    START = "start"
    MESSAGE_START = "message_start"  # starts an event sub-process
    END = "end"
    TERMINATE_END = "terminate_end"
    ESCALATION_END = "escalation_end"
    ESCALATION_THROW = "escalation_throw"
    MESSAGE_CATCH = "message_catch"
    REACHED = "reached"  # a moment the process reaches (an intermediate event with no trigger)
    TIMER_BOUNDARY = "timer_boundary"
    MESSAGE_BOUNDARY = "message_boundary"
    PARALLEL = "parallel"
    EXCLUSIVE = "exclusive"
    RECEIVE_TASK = "receive_task"
    SEND_TASK = "send_task"
    EVENT_SUBPROCESS = "event_subprocess"


TASKS = frozenset({Kind.RECEIVE_TASK, Kind.SEND_TASK})
GATEWAYS = frozenset({Kind.PARALLEL, Kind.EXCLUSIVE})
BOUNDARIES = frozenset({Kind.TIMER_BOUNDARY, Kind.MESSAGE_BOUNDARY})


@dataclass
class Node:
    id: str
    kind: Kind
    name: str
    lane: str  # the role id whose lane holds it (for a sub-process's inside: its own)
    documentation: str = ""
    message: str | None = None  # a message id (receive/send tasks, message events)
    escalation: str | None = None  # an escalation id (escalation events)
    timer: str | None = None  # a timer's due moment, as an expression in TIMER_LANGUAGE
    attached_to: str | None = None  # a boundary event's task
    interrupting: bool = True  # a boundary event or a sub-process's start
    default_flow: str | None = None  # an exclusive gateway's default
    inside: Graph | None = None  # an event sub-process's own nodes and flows


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str | None = None  # a condition, in words (the gateway's question answered)


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)

    def add(self, node: Node) -> Node:
        self.nodes.append(node)
        return node

    def link(
        self, source: Node, target: Node, name: str = "", condition: str | None = None
    ) -> Flow:
        flow = Flow(f"Flow_{source.id}_to_{target.id}", source.id, target.id, name, condition)
        self.flows.append(flow)
        return flow

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def incoming(self, node_id: str) -> list[Flow]:
        return [f for f in self.flows if f.target == node_id]

    def outgoing(self, node_id: str) -> list[Flow]:
        return [f for f in self.flows if f.source == node_id]


@dataclass(frozen=True)
class Lane:
    id: str  # the role id
    name: str


@dataclass
class ProcessMap:
    procedure_id: str
    name: str
    lanes: list[Lane]
    graph: Graph
    messages: dict[str, str]  # message id -> name
    escalations: dict[str, tuple[str, str]]  # escalation id -> (name, escalation code)


# --- words ------------------------------------------------------------------------------------


def decision_title(kind: str) -> str:
    """'Confirm the ICPC', as the paths name their decisions."""
    if kind == SystemEvent.INVITATIONS_SENT:
        return "Invitations sent"
    if kind == DecisionKind.RECORD_STEP:
        return "Record the step as done"
    for path in (CASE_PATH, PLAN_PATH):
        if path.takes(kind):
            return capitalised(path.title(kind))
    return capitalised(kind.replace("_", " "))


def roles_words(procedure: Procedure, roles: Iterable[str]) -> str:
    """'Team manager, CP Conference Service (business support)': titles, in the file's case."""
    titles = [procedure.role(r).title for r in roles if r in {x.id for x in procedure.roles}]
    return ", ".join(titles)


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def offset_words(milestone: Milestone) -> tuple[int, str]:
    """The milestone's offset as (signed count, unit words): (5, 'working days')."""
    for unit, name in (
        ("working_days", "working day"),
        ("days", "day"),
        ("months", "month"),
        ("hours", "hour"),
    ):
        value = getattr(milestone, unit)
        if value is not None:
            return int(value), _plural(abs(int(value)), name).split(" ", 1)[1]
    raise ValueError(f"milestone {milestone.id} has no offset")  # the model forbids it


def due_words(milestone: Milestone) -> str:
    """When the milestone is due, in words: 'by working day 5 after the strategy discussion'."""
    count, unit = offset_words(milestone)
    anchor = ANCHOR_WORDS[milestone.anchor]
    if milestone.anchor == Anchor.STRATEGY_DISCUSSION and milestone.working_days is not None:
        if count == 0:
            return "on the day of the strategy discussion (working day 0)"
        return f"by working day {count} after the strategy discussion"
    if count < 0:
        return f"{abs(count)} {unit} before {anchor}"
    if milestone.anchor in (Anchor.CONVENING_SHEET_RECEIVED, Anchor.CONFERENCE_BOOKED):
        return f"within {count} {unit} after {anchor}"
    return f"within {count} {unit} of {anchor}"


def timer_name(milestone: Milestone) -> str:
    """The timer's label in the diagram: short."""
    count, unit = offset_words(milestone)
    if milestone.anchor == Anchor.STRATEGY_DISCUSSION and milestone.working_days is not None:
        statutory = " (statutory limit)" if milestone.statutory else ""
        return f"Working day {count}{statutory}"
    short = {
        Anchor.CONVENING_SHEET_RECEIVED: "the convening sheet",
        Anchor.CONFERENCE_BOOKED: "booking",
        Anchor.CONFERENCE_DATE: "the conference",
        Anchor.CONFERENCE_HELD: "the ICPC",
        Anchor.PLAN_STARTED: "the plan starts",
        Anchor.REVIEW_DATE: "the review",
    }.get(milestone.anchor, ANCHOR_WORDS[milestone.anchor])
    side = "before" if count < 0 else "after"
    return f"{abs(count)} {unit} {side} {short}"


def timer_expression(milestone: Milestone) -> str:
    """The due moment as an expression: 'strategy_discussion + 5 working_days'."""
    count, unit = offset_words(milestone)
    sign = "-" if count < 0 else "+"
    at = f" at {milestone.time.isoformat('minutes')}" if milestone.time else ""
    return f"{milestone.anchor.value} {sign} {abs(count)} {unit.replace(' ', '_')}{at}"


def _xml_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


# --- the map ----------------------------------------------------------------------------------


class _Builder:
    def __init__(self, procedure: Procedure) -> None:
        self.procedure = procedure
        self.graph = Graph()
        self.messages: dict[str, str] = {}
        self.escalations: dict[str, tuple[str, str]] = {}

    # messages and escalations ----------------------------------------------------------------

    def message(self, key: str, name: str | None = None) -> str:
        message_id = f"Message_{_xml_id(key)}"
        self.messages.setdefault(message_id, name or decision_title(key))
        return message_id

    def escalation(self, key: str, name: str) -> str:
        escalation_id = f"Escalation_{_xml_id(key)}"
        self.escalations.setdefault(escalation_id, (name, _xml_id(key)))
        return escalation_id

    def first_role(self, kind: DecisionKind, fallback: str) -> str:
        roles = self.procedure.roles_for(kind)
        return roles[0] if roles else fallback

    # milestones ------------------------------------------------------------------------------

    def milestone_task(self, graph: Graph, m: Milestone) -> Node:
        p = self.procedure
        main = [s for s in m.satisfied_by if s != DecisionKind.WITHDRAW_ICPC] or m.satisfied_by
        doers = [
            f"{decision_title(s)} ({roles_words(p, p.roles_for(DecisionKind(s)))})"
            if s != SystemEvent.INVITATIONS_SENT
            else "The product sends the invitations"
            for s in m.satisfied_by
        ]
        lines = [
            f"Due {due_words(m)}.",
            f"Met by: {'; '.join(doers)}.",
            f"Responsible: {roles_words(p, [m.responsible])}.",
        ]
        if m.remind:
            days = _plural(m.remind_working_days_before, "working day")
            lines.append(f"Reminded {days} before: {roles_words(p, m.remind)}.")
        if m.escalate_to:
            lines.append(f"If late, told: {roles_words(p, m.escalate_to)}.")
        if m.statutory:
            lines.append("Statutory.")
        if m.source:
            lines.append(f"Source: {m.source}")
        if main[0] == SystemEvent.INVITATIONS_SENT:
            kind, message = Kind.SEND_TASK, self.message("invitation", "Invitation (iCalendar)")
            notice = p.invitation_notice
            if notice is not None:
                amount = _plural(notice.working_days or notice.days or 0, "working day")
                if notice.days is not None:
                    amount = _plural(notice.days, "day")
                lines.append(f"Invitees get at least {amount}' notice ({notice.enforcement}).")
        elif main[0] == DecisionKind.RECORD_STEP:
            kind, message = Kind.RECEIVE_TASK, self.message(f"step_{m.id}", f"Step done: {m.title}")
        else:
            kind, message = Kind.RECEIVE_TASK, self.message(main[0])
        task = graph.add(
            Node(
                f"Task_{m.id}",
                kind,
                m.title,
                m.responsible,
                documentation="\n".join(lines),
                message=message,
            )
        )
        self.deadline_timer(graph, task, m)
        if DecisionKind.WITHDRAW_ICPC in m.satisfied_by:
            withdrawn = graph.add(
                Node(
                    f"Withdrawn_{m.id}",
                    Kind.MESSAGE_BOUNDARY,
                    "ICPC withdrawn",
                    m.responsible,
                    message=self.message(DecisionKind.WITHDRAW_ICPC),
                    attached_to=task.id,
                )
            )
            closed = graph.add(
                Node(f"Closed_{m.id}", Kind.TERMINATE_END, "Case closed: no ICPC", m.responsible)
            )
            graph.link(withdrawn, closed)
        return task

    def deadline_timer(self, graph: Graph, task: Node, m: Milestone) -> None:
        p = self.procedure
        timer = graph.add(
            Node(
                f"Due_{m.id}",
                Kind.TIMER_BOUNDARY,
                timer_name(m),
                task.lane,
                documentation=f"Due {due_words(m)}. The wait goes on after it.",
                timer=timer_expression(m),
                attached_to=task.id,
                interrupting=False,
            )
        )
        told = roles_words(p, m.escalate_to)
        name = f"Overdue: tell {told}" if m.escalate_to else "Overdue: recorded as late"
        escalated = graph.add(
            Node(
                f"Overdue_{m.id}",
                Kind.ESCALATION_END,
                name,
                task.lane,
                escalation=self.escalation(f"overdue_{m.id}", f"Overdue: {m.title}"),
            )
        )
        graph.link(timer, escalated)

    def anchor_event(self, graph: Graph, key: str, name: str, kind: DecisionKind) -> Node:
        """A moment no milestone brings about, as the decision that does (a message)."""
        return graph.add(
            Node(
                f"Event_{key}",
                Kind.MESSAGE_CATCH,
                name,
                self.first_role(kind, self.procedure.roles[0].id),
                message=self.message(kind),
            )
        )

    def branches(
        self, graph: Graph, root: Node, milestones: list[Milestone], producers: dict[Anchor, str]
    ) -> list[Node]:
        """Each milestone after the node that brings its anchor about (a tree from ``root``);
        returns the leaves, whose flows the caller joins."""
        order = {m.id: i for i, m in enumerate(self.procedure.milestones)}

        def key(m: Milestone) -> tuple[int, float, int]:
            count, unit = offset_words(m)
            scale = {"hour": 1 / 8, "hours": 1 / 8, "month": 20, "months": 20}.get(unit, 1)
            return (ANCHOR_ORDER.index(m.anchor), count * scale, order[m.id])

        tasks: dict[str, Node] = {}
        children: dict[str, list[Node]] = {root.id: []}
        synthetic: dict[str, Node] = {}  # by event key: two anchors may share one
        for m in sorted(milestones, key=key):
            task = self.milestone_task(graph, m)
            tasks[m.id] = task
            children.setdefault(task.id, [])
        for m in sorted(milestones, key=key):
            produced_by = producers.get(m.anchor)
            if produced_by in tasks and produced_by != m.id:
                parent = tasks[produced_by]
            elif m.anchor in SYNTHETIC:
                event_key, name, kind = SYNTHETIC[m.anchor]
                if event_key not in synthetic:
                    synthetic[event_key] = self.anchor_event(graph, event_key, name, kind)
                    children[root.id].append(synthetic[event_key])
                    children[synthetic[event_key].id] = []
                parent = synthetic[event_key]
            else:
                parent = root
            children[parent.id].append(tasks[m.id])

        leaves: list[Node] = []

        def grow(node: Node) -> None:
            below = children.get(node.id, [])
            if not below:
                leaves.append(node)
                return
            source = node
            if len(below) > 1:
                source = graph.add(Node(f"Split_{node.id}", Kind.PARALLEL, "", node.lane))
                graph.link(node, source)
            for child in below:
                graph.link(source, child)
                grow(child)

        grow(root)
        reached = {f.target for f in graph.flows}
        lost = [m.id for m in milestones if tasks[m.id].id not in reached]
        if lost:  # anchors that only each other bring about: no way in from the start
            raise ValueError(f"{self.procedure.id}: milestones {lost} cannot be reached")
        return leaves

    def join(self, graph: Graph, leaves: list[Node], key: str, lane: str) -> Node:
        if len(leaves) == 1:
            return leaves[0]
        joined = graph.add(Node(f"Join_{key}", Kind.PARALLEL, "", lane))
        for leaf in leaves:
            graph.link(leaf, joined)
        return joined

    # the whole process -----------------------------------------------------------------------

    def build(self) -> ProcessMap:
        p = self.procedure
        g = self.graph
        icpc = [m for m in p.milestones if m.phase == Phase.ICPC and m.id != ICPC_DEADLINE_ID]
        later = [m for m in p.milestones if m.phase != Phase.ICPC]
        deadline = p.milestone(ICPC_DEADLINE_ID)
        first = icpc[0].responsible if icpc else deadline.responsible
        start = g.add(
            Node(
                "Start_strategy_discussion",
                Kind.START,
                "Strategy discussion starts section 47 enquiries (day 0)",
                first,
                documentation=p.day_numbering,
            )
        )
        producers = self.producers(icpc)
        leaves = self.branches(g, start, icpc, producers)
        before = self.join(g, leaves, "before_icpc", deadline.responsible)
        held = self.milestone_task(g, deadline)
        g.link(before, held)
        if later:
            outcome = g.add(
                Node("Outcome_icpc", Kind.EXCLUSIVE, "Outcome of the ICPC?", deadline.responsible)
            )
            g.link(held, outcome)
            no_plan = g.add(Node("End_no_plan", Kind.END, "Case closed: no plan", outcome.lane))
            outcome.default_flow = g.link(outcome, no_plan, "No plan").id
            plan_root = g.add(
                Node(
                    "Plan_started",
                    Kind.REACHED,
                    "Child protection plan starts",
                    deadline.responsible,
                    documentation="The plan runs as its own workflow (<case id>-plan).",
                )
            )
            g.link(outcome, plan_root, "Child protection plan", condition="outcome is a plan")
            plan_leaves = self.branches(g, plan_root, later, self.producers(later))
            plan_done = self.join(g, plan_leaves, "plan", plan_root.lane)
            reviews = p.reviews
            end = g.add(
                Node(
                    "End_plan",
                    Kind.END,
                    f"Plan goes on: reviews within {reviews.first.text},"
                    f" then every {reviews.then.text}",
                    plan_done.lane,
                )
            )
            g.link(plan_done, end)
        else:
            end = g.add(Node("End_icpc_held", Kind.END, "ICPC held", deadline.responsible))
            g.link(held, end)
        self.any_time()
        lanes_used = {n.lane for n in g.nodes}
        lanes = [Lane(r.id, r.title) for r in p.roles if r.id in lanes_used]
        return ProcessMap(p.id, p.title, lanes, g, self.messages, self.escalations)

    def producers(self, milestones: list[Milestone]) -> dict[Anchor, str]:
        """The milestone whose decision brings each anchor about (the first in the file)."""
        found: dict[Anchor, str] = {}
        for anchor, kinds in PRODUCED_BY.items():
            for m in milestones:
                if any(k in m.satisfied_by for k in kinds):
                    found[anchor] = m.id
                    break
        return found

    # at any time ----------------------------------------------------------------------------

    def sub_process(self, key: str, name: str, lane: str, documentation: str = "") -> Node:
        return self.graph.add(
            Node(
                f"Sub_{key}",
                Kind.EVENT_SUBPROCESS,
                name,
                lane,
                documentation=documentation,
                inside=Graph(),
            )
        )

    def any_time(self) -> None:
        p = self.procedure
        requesters = p.roles_for(DecisionKind.REQUEST_DELAY)
        deciders = p.roles_for(DecisionKind.APPROVE_DELAY)
        if requesters and deciders:
            d = p.delays
            notes = [
                f"Requested by: {roles_words(p, requesters)}.",
                f"Approved or rejected by: {roles_words(p, deciders)}.",
            ]
            if d.request_copy_to:
                notes.append(f"Each request is copied to: {roles_words(p, d.request_copy_to)}.")
            if d.decision_copy_to:
                notes.append(f"Each decision is copied to: {roles_words(p, d.decision_copy_to)}.")
            if d.source:
                notes.append(f"Source: {d.source}")
            sub = self.sub_process(
                "delay", "A delay past the statutory limit", deciders[0], "\n".join(notes)
            )
            inside = sub.inside
            assert inside is not None
            asked = inside.add(
                Node(
                    "Delay_requested",
                    Kind.MESSAGE_START,
                    "Delay requested",
                    sub.lane,
                    message=self.message(DecisionKind.REQUEST_DELAY),
                    interrupting=False,
                )
            )
            decide = Node(
                "Task_decide_delay",
                Kind.RECEIVE_TASK,
                "Approve or reject the delay",
                sub.lane,
                documentation=f"By: {roles_words(p, deciders)}.",
                message=self.message(DecisionKind.APPROVE_DELAY),
            )
            if d.request_by_working_day is not None and d.late_request_escalate_to:
                late = inside.add(
                    Node(
                        "Delay_late",
                        Kind.EXCLUSIVE,
                        f"Requested after working day {d.request_by_working_day}?",
                        sub.lane,
                    )
                )
                inside.link(asked, late)
                told = inside.add(
                    Node(
                        "Delay_late_told",
                        Kind.ESCALATION_THROW,
                        f"Late request: tell {roles_words(p, d.late_request_escalate_to)}",
                        sub.lane,
                        escalation=self.escalation("late_delay_request", "Late delay request"),
                    )
                )
                merge = inside.add(Node("Delay_merge", Kind.EXCLUSIVE, "", sub.lane))
                inside.link(late, told, "Yes", condition="requested after the day")
                late.default_flow = inside.link(late, merge, "No").id
                inside.link(told, merge)
                inside.add(decide)
                inside.link(merge, decide)
            else:
                inside.add(decide)
                inside.link(asked, decide)
            done = inside.add(Node("Delay_decided", Kind.END, "Delay decided", sub.lane))
            inside.link(decide, done)

        reporters = p.roles_for(DecisionKind.REPORT_CAPACITY_PROBLEM)
        for c in p.capacity_escalations:
            lane = reporters[0] if reporters else c.escalate_to[0]
            notes = [f"Reported by: {roles_words(p, reporters)}." if reporters else ""]
            notes.append(f"Told at once: {roles_words(p, c.escalate_to)}.")
            if c.source:
                notes.append(f"Source: {c.source}")
            sub = self.sub_process(
                f"capacity_{c.id}", c.title, lane, "\n".join(n for n in notes if n)
            )
            inside = sub.inside
            assert inside is not None
            reported = inside.add(
                Node(
                    f"Reported_{c.id}",
                    Kind.MESSAGE_START,
                    f"Reported: {c.title}",
                    lane,
                    message=self.message(DecisionKind.REPORT_CAPACITY_PROBLEM),
                    interrupting=False,
                )
            )
            escalated = inside.add(
                Node(
                    f"Escalated_{c.id}",
                    Kind.ESCALATION_END,
                    f"Tell {roles_words(p, c.escalate_to)}",
                    lane,
                    escalation=self.escalation(f"capacity_{c.id}", c.title),
                )
            )
            inside.link(reported, escalated)

        standers = p.roles_for(DecisionKind.STAND_DOWN)
        rebookers = p.roles_for(DecisionKind.REBOOK_CONFERENCE)
        if standers and rebookers:
            reasons = [
                f"{r.title}{' (the case closes)' if r.ends_case else ''}"
                for r in p.stand_down_reasons
            ]
            notes = [f"Stood down by: {roles_words(p, standers)}."]
            if reasons:
                notes.append(f"Reasons: {'; '.join(reasons)}.")
            notes.append("The invitations are cancelled (iCalendar CANCEL).")
            sub = self.sub_process(
                "stand_down", "A booked conference stood down", rebookers[0], "\n".join(notes)
            )
            inside = sub.inside
            assert inside is not None
            stood = inside.add(
                Node(
                    "Stood_down",
                    Kind.MESSAGE_START,
                    "Conference stood down",
                    sub.lane,
                    message=self.message(DecisionKind.STAND_DOWN),
                    interrupting=False,
                )
            )
            rebook = inside.add(
                Node(
                    "Task_rebook",
                    Kind.RECEIVE_TASK,
                    "Rebook the conference",
                    sub.lane,
                    documentation=f"By: {roles_words(p, rebookers)}. The invitations are"
                    " updated: same calendar entry, higher SEQUENCE.",
                    message=self.message(DecisionKind.REBOOK_CONFERENCE),
                )
            )
            rebooked = inside.add(Node("Rebooked", Kind.END, "Conference rebooked", sub.lane))
            inside.link(stood, rebook)
            inside.link(rebook, rebooked)


# The decisions that bring each later anchor about.
PRODUCED_BY: dict[Anchor, tuple[str, ...]] = {
    Anchor.CONVENING_SHEET_RECEIVED: (DecisionKind.RECEIVE_CONVENING_SHEET,),
    Anchor.CONFERENCE_BOOKED: (DecisionKind.BOOK_CONFERENCE,),
    Anchor.CONFERENCE_DATE: (DecisionKind.BOOK_CONFERENCE,),
    Anchor.REVIEW_DATE: (DecisionKind.BOOK_REVIEW,),
}
# An anchor no milestone brings about, drawn as the decision that does.
SYNTHETIC: dict[Anchor, tuple[str, str, DecisionKind]] = {
    Anchor.CONVENING_SHEET_RECEIVED: (
        "convening_sheet",
        "Convening sheet received",
        DecisionKind.RECEIVE_CONVENING_SHEET,
    ),
    Anchor.CONFERENCE_BOOKED: ("booked", "Conference booked", DecisionKind.BOOK_CONFERENCE),
    Anchor.CONFERENCE_DATE: ("booked", "Conference booked", DecisionKind.BOOK_CONFERENCE),
    Anchor.REVIEW_DATE: ("review_booked", "Review conference booked", DecisionKind.BOOK_REVIEW),
}


def process_map(procedure: Procedure) -> ProcessMap:
    return _Builder(procedure).build()


# --- the same facts in words ------------------------------------------------------------------


@dataclass(frozen=True)
class StepText:
    title: str
    due: str  # "by working day 5 after the strategy discussion"
    met_by: str  # "Confirm the ICPC or withdraw the ICPC"
    if_late: str  # "the team manager and the CP conference service are told"
    statutory: bool = False
    phase: str = "Before the ICPC"


@dataclass(frozen=True)
class RoleText:
    id: str
    title: str
    steps: list[StepText]
    decisions: list[str]  # what else the role may decide, in words
    told_when_late: list[str]  # the steps whose lateness the role is told of


@dataclass(frozen=True)
class ProcessText:
    roles: list[RoleText]
    at_any_time: list[str]  # delays, capacity problems, stand-downs


PHASE_WORDS = {
    Phase.ICPC: "Before the ICPC",
    Phase.PLAN: "Child protection plan",
    Phase.REVIEW: "Review conferences",
}


def _lower_first(text: str) -> str:
    """'Confirm the ICPC' mid-sentence: 'confirm the ICPC' (acronyms kept)."""
    first = text.split(" ", 1)[0]
    return text if len(first) > 1 and first.isupper() else text[:1].lower() + text[1:]


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe(procedure: Procedure) -> ProcessText:
    """The process in words, by role: each role's steps with their due days and who is told
    when one is late, what else the role decides, and what can happen at any time."""
    p = procedure

    def who(roles: list[str]) -> str:
        return _and([role_title(p, r) for r in roles]) if roles else "nobody"

    steps_of: dict[str, list[StepText]] = {r.id: [] for r in p.roles}
    told_of: dict[str, list[str]] = {r.id: [] for r in p.roles}
    for m in p.milestones:
        met_by = _or([_lower_first(decision_title(s)) for s in m.satisfied_by])
        late = f"{who(m.escalate_to)} {'is' if len(m.escalate_to) == 1 else 'are'} told"
        steps_of[m.responsible].append(
            StepText(
                m.title,
                capitalised(due_words(m)),
                capitalised(met_by),
                capitalised(late) if m.escalate_to else "It is recorded as late",
                m.statutory,
                PHASE_WORDS[m.phase],
            )
        )
        for r in m.escalate_to:
            told_of[r].append(m.title)
    decisions_of: dict[str, list[str]] = {r.id: [] for r in p.roles}
    for kind, deciders in p.decisions.items():
        for r in deciders:
            decisions_of[r].append(decision_title(kind))
    roles = [
        RoleText(r.id, r.title, steps_of[r.id], decisions_of[r.id], told_of[r.id]) for r in p.roles
    ]
    any_time: list[str] = []
    requesters = p.roles_for(DecisionKind.REQUEST_DELAY)
    deciders = p.roles_for(DecisionKind.APPROVE_DELAY)
    if requesters and deciders:
        text = (
            f"A delay past the statutory limit: {_or([role_title(p, r) for r in requesters])}"
            f" asks, and {_or([role_title(p, r) for r in deciders])} approves or rejects it."
        )
        d = p.delays
        if d.request_by_working_day is not None:
            text += f" A request is due by working day {d.request_by_working_day}"
            if d.late_request_escalate_to:
                text += f"; a later one is escalated to {who(d.late_request_escalate_to)}"
            text += "."
        if d.request_copy_to:
            text += f" Requests are copied to {who(d.request_copy_to)}."
        any_time.append(capitalised(text))
    for c in p.capacity_escalations:
        any_time.append(
            f"{c.title}: {who(c.escalate_to)} {'is' if len(c.escalate_to) == 1 else 'are'} told at once."
        )
    standers = p.roles_for(DecisionKind.STAND_DOWN)
    if standers:
        any_time.append(
            f"A booked conference can be stood down by {_or([role_title(p, r) for r in standers])};"
            " the invitations are cancelled, and it is rebooked unless the conference is no"
            " longer needed."
        )
    if p.invitation_notice is not None:
        n = p.invitation_notice
        amount = (
            _plural(n.working_days, "working day")
            if n.working_days is not None
            else _plural(n.days or 0, "day")
        )
        rule = "a booking with less is refused" if n.enforcement == "refuse" else "less is flagged"
        any_time.append(f"Invitees get at least {amount}' notice of the conference; {rule}.")
    return ProcessText(roles, any_time)
