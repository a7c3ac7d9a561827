"""Where each shape of a process map goes: a deterministic grid, left to right, lanes top down.

Why our own layout: the maintained layouters for BPMN (bpmn-auto-layout from npm, and its
Python port ``bpmn-io``) lay out one process without pools or lanes ("Given a collaboration
only the first participant's process will be laid out"), and lanes per role are the point of
these diagrams. The maps are small, acyclic trees that fork at the strategy discussion and join
before the ICPC, so a grid does well and stays the same from one run to the next:

- a node's column is its longest path from the start (so every flow points right);
- its lane is its role's, and its row within the lane the first one free for it, trying its
  predecessor's row first so that a chain of steps stays on one line;
- a flow runs along its source's row and turns in the gap before its target's column, which
  no shape ever takes; a flow that runs past other columns reserves the cells it crosses, so
  no later shape is put on top of it;
- each task's deadline timer (and withdrawal message) sits on its lower edge, with the event
  it leads to below and to the right, inside the task's own cell;
- event sub-processes sit in a band at the foot of their lane, each laid out the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from procedures.process_map import BOUNDARIES, GATEWAYS, TASKS, Graph, Kind, Node, ProcessMap

Point = tuple[float, float]

POOL_X, POOL_Y = 160.0, 80.0
POOL_LABEL = 30.0  # the pool's name band, on its left
LANE_LABEL = 30.0  # the lane's name band
TASK = (160.0, 100.0)  # wider than bpmn-js's 100 x 80: the milestones' titles are long
SUB_GAP = 40.0
INNER_TOP = 30.0  # room for the sub-process's name


@dataclass(frozen=True)
class Cells:
    """A grid's cell size, and where in a cell a node's centre goes."""

    column: float
    row: float
    centre_x: float
    centre_y: float


MAIN = Cells(column=320.0, row=290.0, centre_x=130.0, centre_y=80.0)
INNER = Cells(column=210.0, row=140.0, centre_x=100.0, centre_y=65.0)
# The free gap at a cell's left, before its task: where flows turn.
TASK_INSET = MAIN.centre_x - TASK[0] / 2
INNER_INSET = INNER.centre_x - TASK[0] / 2


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass
class Diagram:
    pool: Box
    lanes: dict[str, Box]
    shapes: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, list[Point]] = field(default_factory=dict)


def size(kind: Kind) -> tuple[float, float]:
    if kind in TASKS:
        return TASK
    if kind in GATEWAYS:
        return 50.0, 50.0
    return 36.0, 36.0


# --- the grid ---------------------------------------------------------------------------------

Track = tuple[int, int]  # (lane index, row within the lane)


def _layers(nodes: Sequence[Node], graph: Graph) -> dict[str, int]:
    """Each node's longest path from a node with no way in (the graph is acyclic)."""
    ids = {n.id for n in nodes}
    flows = [f for f in graph.flows if f.source in ids and f.target in ids]
    layer: dict[str, int] = {}

    def depth(node_id: str, seen: frozenset[str] = frozenset()) -> int:
        if node_id in layer:
            return layer[node_id]
        if node_id in seen:
            raise ValueError(f"the process has a cycle through {node_id}")
        sources = [f.source for f in flows if f.target == node_id]
        found = 1 + max((depth(s, seen | {node_id}) for s in sources), default=-1)
        layer[node_id] = found
        return found

    for n in nodes:
        depth(n.id)
    return layer


def place(
    nodes: Sequence[Node], graph: Graph, lane_index: Callable[[Node], int]
) -> dict[str, tuple[Track, int]]:
    """Each node's (track, column): see the module's notes."""
    layer = _layers(nodes, graph)
    ids = {n.id for n in nodes}
    flows = [f for f in graph.flows if f.source in ids and f.target in ids]
    # cell -> who may use it: a node's id, or the target of the flows that run through it.
    cells: dict[tuple[Track, int], set[str]] = {}
    placed: dict[str, tuple[Track, int]] = {}

    def free(track: Track, columns: range, for_node: str) -> bool:
        return all(cells.get((track, c), {for_node}) <= {for_node} for c in columns)

    def claim(track: Track, columns: range, owner: str) -> None:
        for c in columns:
            cells.setdefault((track, c), set()).add(owner)

    order = {n.id: i for i, n in enumerate(nodes)}

    def rank(node: Node) -> tuple[int, int, int]:
        preds = [placed[f.source][0] for f in flows if f.target == node.id]
        first = min(preds, default=(lane_index(node), 0))
        return (first[0], first[1], order[node.id])

    for column in range(max(layer.values(), default=-1) + 1):
        for node in sorted((n for n in nodes if layer[n.id] == column), key=rank):
            lane = lane_index(node)
            preds = [f.source for f in flows if f.target == node.id]

            here = range(column, column + 1)
            tried = [placed[p][0] for p in preds if placed[p][0][0] == lane]
            row = 0
            while True:
                candidates = [*tried, (lane, row)]
                chosen = next((t for t in candidates if free(t, here, node.id)), None)
                if chosen is not None:
                    break
                tried, row = [], row + 1
            claim(chosen, here, node.id)
            placed[node.id] = (chosen, column)
            # The flows out of it run along its row up to their targets' columns.
            for f in flows:
                if f.source == node.id:
                    claim(chosen, range(column + 1, layer[f.target]), f.target)
    return placed


# --- the drawing ------------------------------------------------------------------------------


def _in_cell(kind: Kind, x: float, y: float, cells: Cells) -> Box:
    """A node's box in the cell whose top left is (x, y)."""
    w, h = size(kind)
    cx, cy = x + cells.centre_x, y + cells.centre_y
    return Box(cx - w / 2, cy - h / 2, w, h)


def _route(source: Box, target: Box, cells: Cells) -> list[Point]:
    """Along the source's row, then down or up in the gap before the target's column."""
    if abs(source.cy - target.cy) < 1:
        return [(source.right, source.cy), (target.x, target.cy)]
    x = target.cx - cells.centre_x + (TASK_INSET if cells is MAIN else INNER_INSET) / 2
    return [(source.right, source.cy), (x, source.cy), (x, target.cy), (target.x, target.cy)]


def _sub_process(sub: Node, x: float, y: float, diagram: Diagram) -> Box:
    """Lay out an event sub-process's inside with its top left at (x, y); returns its box."""
    inside = sub.inside
    assert inside is not None
    spots = place(inside.nodes, inside, lambda _: 0)
    columns = max((c for _, c in spots.values()), default=0) + 1
    rows = max((t[1] for t, _ in spots.values()), default=0) + 1
    for node in inside.nodes:
        (_, row), column = spots[node.id]
        diagram.shapes[node.id] = _in_cell(
            node.kind, x + 10.0 + column * INNER.column, y + INNER_TOP + row * INNER.row, INNER
        )
    for f in inside.flows:
        s, t = diagram.shapes[f.source], diagram.shapes[f.target]
        diagram.edges[f.id] = _route(s, t, INNER)
    return Box(x, y, columns * INNER.column + 20.0, rows * INNER.row + INNER_TOP + 10.0)


def layout(process: ProcessMap) -> Diagram:
    g = process.graph
    lane_ids = [lane.id for lane in process.lanes]
    boundary = {n.id for n in g.nodes if n.kind in BOUNDARIES}
    satellites = {f.target for f in g.flows if f.source in boundary}
    subs = [n for n in g.nodes if n.kind == Kind.EVENT_SUBPROCESS]
    main = [
        n for n in g.nodes if n.id not in boundary | satellites and n.kind != Kind.EVENT_SUBPROCESS
    ]
    spots = place(main, g, lambda n: lane_ids.index(n.lane))
    columns = max((c for _, c in spots.values()), default=0) + 1

    # Rows per lane, and the sub-process band at each lane's foot.
    scratch = Diagram(Box(0, 0, 0, 0), {})
    sub_boxes = {s.id: _sub_process(s, 0.0, 0.0, scratch) for s in subs}
    rows = {i: 0 for i in range(len(lane_ids))}  # a lane with only sub-processes has none
    for (lane, row), _ in spots.values():
        rows[lane] = max(rows[lane], row + 1)
    band = {
        i: max((sub_boxes[s.id].h for s in subs if s.lane == lane_id), default=0.0)
        for i, lane_id in enumerate(lane_ids)
    }
    lane_x = POOL_X + POOL_LABEL
    content_x = lane_x + LANE_LABEL + 20.0
    band_widths = [
        sum(sub_boxes[s.id].w + SUB_GAP for s in subs if s.lane == lane_id) for lane_id in lane_ids
    ]
    width = max(columns * MAIN.column, *band_widths) + LANE_LABEL + 40.0
    lanes: dict[str, Box] = {}
    top = POOL_Y
    row_top: dict[tuple[int, int], float] = {}
    band_top: dict[int, float] = {}
    for i, lane_id in enumerate(lane_ids):
        height = rows[i] * MAIN.row + (band[i] + 40.0 if band[i] else 0.0)
        lanes[lane_id] = Box(lane_x, top, width, height)
        for r in range(rows[i]):
            row_top[(i, r)] = top + r * MAIN.row
        band_top[i] = top + rows[i] * MAIN.row + 20.0
        top += height
    diagram = Diagram(Box(POOL_X, POOL_Y, width + POOL_LABEL, top - POOL_Y), lanes)

    for node in main:
        track, column = spots[node.id]
        diagram.shapes[node.id] = _in_cell(
            node.kind, content_x + column * MAIN.column, row_top[track], MAIN
        )
    # Boundary events on their task's lower edge; what they lead to, below.
    for node in g.nodes:
        if node.kind not in BOUNDARIES or node.attached_to is None:
            continue
        task = diagram.shapes[node.attached_to]
        offset = task.w - 35.0 if node.kind == Kind.TIMER_BOUNDARY else 25.0
        at = Box(task.x + offset - 18.0, task.bottom - 18.0, 36.0, 36.0)
        diagram.shapes[node.id] = at
        for f in g.outgoing(node.id):
            target = next(n for n in g.nodes if n.id == f.target)
            w, h = size(target.kind)
            cy = task.bottom + 65.0
            if node.kind == Kind.TIMER_BOUNDARY:
                box = Box(at.cx + 70.0 - w / 2, cy - h / 2, w, h)
                diagram.edges[f.id] = [(at.cx, at.bottom), (at.cx, box.cy), (box.x, box.cy)]
            else:
                box = Box(at.cx - w / 2, cy - h / 2, w, h)
                diagram.edges[f.id] = [(at.cx, at.bottom), (box.cx, box.y)]
            diagram.shapes[target.id] = box
    for f in g.flows:
        if f.source in spots and f.target in spots:
            s, t = diagram.shapes[f.source], diagram.shapes[f.target]
            diagram.edges[f.id] = _route(s, t, MAIN)
    # Event sub-processes, left to right in their lane's band.
    for i, lane_id in enumerate(lane_ids):
        x = content_x
        for sub in (s for s in subs if s.lane == lane_id):
            box = _sub_process(sub, x, band_top[i], diagram)
            diagram.shapes[sub.id] = box
            x += box.w + SUB_GAP
    return diagram
