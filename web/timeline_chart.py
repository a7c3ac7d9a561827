"""A picture of a case: its milestones on a time line, drawn as SVG on the server.

Hand-built SVG (no library, no JavaScript): one row per milestone with its due day and the day
it was met, the statutory limit as a line, today as a line, and an approved (or requested)
delay as a band from the limit to the proposed date. Shapes as well as colours tell a
milestone's state (met: a filled circle; met late: a triangle; late: a cross; waiting: a hollow
circle), and the chart carries its own text alternative (``<title>`` and ``<desc>``). The page
puts the same facts in the milestones table below it. The drawing scales to its container's
width (a ``viewBox``, no fixed width), so it never makes a small screen scroll sideways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape

from markupsafe import Markup

from domain.calendar import LONDON

WIDTH = 600
LEFT, RIGHT = 10, 20
ROW = 46
TOP = 58  # room for the labels of the vertical lines
AXIS_ROOM = 40

STATUS_SHAPES = {
    "Met": "met",
    "Met late": "met-late",
    "Late": "late",
    "Waiting": "waiting",
    "Not scheduled yet": "unscheduled",
}


@dataclass(frozen=True)
class Milestone:
    title: str
    due: datetime | None
    met_at: datetime | None
    status: str  # the table's words: Met, Met late, Late, Waiting, Not scheduled yet


@dataclass(frozen=True)
class Delay:
    to: date
    status: str  # pending, approved, rejected


def _day(at: datetime | date) -> date:
    return at.astimezone(LONDON).date() if isinstance(at, datetime) else at


def _text(day: date) -> str:
    return f"{day.day} {day:%b}"


def _long(day: date) -> str:
    return f"{day:%a} {day.day} {day:%B %Y}"


def describe(milestone: Milestone) -> str:
    """A milestone in words, as the chart's description and its row's title say it."""
    due = f"due {_long(_day(milestone.due))}" if milestone.due else "not scheduled yet"
    met = f", met {_long(_day(milestone.met_at))}" if milestone.met_at else ""
    return f"{milestone.title}: {due}{met} ({milestone.status.lower()})"


def case_chart(
    start: datetime,
    deadline: datetime | None,
    milestones: Sequence[Milestone],
    delay: Delay | None,
    now: datetime,
    *,
    chart_id: str = "case-chart",
) -> Markup:
    """The SVG of a case's milestones, from the strategy discussion (day 0)."""
    first = _day(start)
    days = [_day(now)]
    days += [_day(m.due) for m in milestones if m.due]
    days += [_day(m.met_at) for m in milestones if m.met_at]
    if deadline is not None:
        days.append(_day(deadline))
    shown_delay = delay if delay is not None and delay.status != "rejected" else None
    if shown_delay is not None:
        days.append(shown_delay.to)
    last = max([*days, first + timedelta(days=21)]) + timedelta(days=2)
    span = (last - first).days or 1

    def x(day: date) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / span, 1)

    height = TOP + ROW * max(len(milestones), 1) + AXIS_ROOM
    bottom = height - AXIS_ROOM + 6
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    lines: list[str] = []
    add = lines.append

    # The approved (or requested) delay: a band from the statutory limit to its date.
    if shown_delay is not None and deadline is not None:
        x0, x1 = x(_day(deadline)), x(shown_delay.to)
        word = "approved" if shown_delay.status == "approved" else "requested"
        add(
            f'<g data-kind="delay" data-status="{escape(shown_delay.status)}">'
            f'<rect class="app-chart__delay" x="{x0}" y="{TOP - 12}" width="{max(x1 - x0, 2)}"'
            f' height="{bottom - TOP + 12}"/>'
            f'<text class="app-chart__text app-chart__text--small" x="{x1}" y="{TOP - 16}"'
            f' text-anchor="end">Delay {word} to {_text(shown_delay.to)}</text></g>'
        )
    # Weekly ticks along the bottom, from day 0.
    add(
        f'<line class="app-chart__axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}"'
        f' y2="{bottom}"/>'
    )
    for week in range(0, span + 1, 7):
        day = first + timedelta(days=week)
        anchor = "start" if week == 0 else "middle"
        add(
            f'<line class="app-chart__grid" x1="{x(day)}" y1="{TOP - 4}" x2="{x(day)}"'
            f' y2="{bottom + 5}"/>'
            f'<text class="app-chart__text app-chart__text--small" x="{x(day)}"'
            f' y="{bottom + 22}" text-anchor="{anchor}">{_text(day)}</text>'
        )
    # The statutory limit and today.
    if deadline is not None:
        dx = x(_day(deadline))
        add(
            f'<g data-kind="statutory" data-date="{_day(deadline).isoformat()}">'
            f'<line class="app-chart__statutory" x1="{dx}" y1="{TOP - 30}" x2="{dx}"'
            f' y2="{bottom}"/><text class="app-chart__text" x="{dx}" y="{TOP - 36}"'
            f' text-anchor="middle">Statutory limit {_text(_day(deadline))}</text></g>'
        )
    tx = x(_day(now))
    add(
        f'<g data-kind="today"><line class="app-chart__today" x1="{tx}" y1="{TOP - 10}"'
        f' x2="{tx}" y2="{bottom}"/><text class="app-chart__text app-chart__text--small"'
        f' x="{tx}" y="{bottom + 36}" text-anchor="middle">Today</text></g>'
    )
    # One row per milestone: its title, its due day, the day it was met.
    for n, m in enumerate(milestones):
        y = TOP + ROW * n
        shape = STATUS_SHAPES.get(m.status, "waiting")
        due = _day(m.due) if m.due else None
        met = _day(m.met_at) if m.met_at else None
        row = [
            f'<g data-kind="milestone" data-title="{escape(m.title)}"'
            f' data-status="{escape(m.status)}" data-due="{due.isoformat() if due else ""}"'
            f' data-met="{met.isoformat() if met else ""}">'
            f"<title>{escape(describe(m))}</title>"
            f'<text class="app-chart__text" x="{LEFT}" y="{y + 12}">{escape(m.title)}</text>'
        ]
        my = y + 28
        if due is not None and met is not None and met != due:
            row.append(
                f'<line class="app-chart__link" x1="{x(due)}" y1="{my}" x2="{x(met)}" y2="{my}"/>'
            )
        if due is not None:
            row.append(
                f'<rect class="app-chart__due" x="{x(due) - 6}" y="{my - 6}" width="12"'
                f' height="12" transform="rotate(45 {x(due)} {my})"/>'
            )
        if met is not None:
            mx = x(met)
            if shape == "met-late":
                row.append(
                    f'<polygon class="app-chart__met-late"'
                    f' points="{mx},{my - 8} {mx + 8},{my + 7} {mx - 8},{my + 7}"/>'
                )
            else:
                row.append(f'<circle class="app-chart__met" cx="{mx}" cy="{my}" r="7"/>')
        elif shape == "late" and due is not None:
            dx = x(due)
            row.append(
                f'<path class="app-chart__late" d="M{dx - 7},{my - 4} l4,-4 l3,3 l3,-3 l4,4'
                f' l-3,3 l3,3 l-4,4 l-3,-3 l-3,3 l-4,-4 l3,-3 z"/>'
            )
        elif shape == "waiting" and due is not None:
            row.append(f'<circle class="app-chart__waiting" cx="{x(due)}" cy="{my}" r="4"/>')
        elif due is None:
            row.append(
                f'<text class="app-chart__text app-chart__text--small" x="{LEFT}"'
                f' y="{my + 5}">Not scheduled yet</text>'
            )
        row.append("</g>")
        add("".join(row))

    summary = "; ".join(describe(m) for m in milestones) or "No milestones yet"
    limit = f" The statutory limit is {_long(_day(deadline))}." if deadline else ""
    delay_words = (
        f" A delay to {_long(shown_delay.to)} is {shown_delay.status}."
        if shown_delay is not None
        else ""
    )
    title = f"The case's milestones from the strategy discussion on {_long(first)}"
    description = f"{summary}.{limit}{delay_words} Today is {_long(_day(now))}."
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}"'
        f' role="img" aria-labelledby="{title_id} {desc_id}" focusable="false"'
        f' data-testid="case-chart">'
        f'<title id="{title_id}">{escape(title)}</title>'
        f'<desc id="{desc_id}">{escape(description)}</desc>' + "".join(lines) + "</svg>"
    )
    return Markup(svg)
