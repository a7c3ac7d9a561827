"""The Reports page's charts: small bar charts as server-rendered SVG, built by hand.

Why by hand, not a charting library: each chart is a dozen bars and one reference line; the
SVG is a few hundred bytes, made in microseconds, under the form's Content-Security-Policy (no
script, no inline style: presentation attributes and the app's stylesheet classes only), and
accessible by construction: ``role="img"`` named by its ``<title>`` and described by its
``<desc>``, which gives the numbers in words; the same numbers are in a table beside each chart
and in a CSV download. matplotlib would add a large dependency, a font cache and a second of
import, and its SVG has no title or description without rewriting it afterwards.

Every text is escaped; the charts hold figures and month or week labels, never a case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 56
BAR = "#1d70b8"  # GOV.UK blue: 5:1 against white
OVER = "#d4351c"  # a bar over its capacity: GOV.UK red
REFERENCE = "#0b0c0c"
GRID = "#b1b4b6"


@dataclass(frozen=True)
class Bar:
    label: str  # on the axis, short: "Oct 26", "9 Nov"
    value: float | None  # None: nothing to show (no ICPC held that month)
    limit: float | None = None  # a mark per bar (a week's capacity)


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    top: float | None = None,
    unit: str = "",
    reference: tuple[float, str] | None = None,
    limit_label: str = "",
) -> Markup:
    """A vertical bar chart. ``top``: the axis's maximum (default: from the data);
    ``reference``: a dashed line across at (value, its label); ``limit_label``: what each bar's
    ``limit`` mark means (capacity)."""
    values = [b.value for b in bars if b.value is not None]
    limits = [b.limit for b in bars if b.limit is not None]
    highest = max([*values, *limits, reference[0] if reference else 0.0, 1.0])
    top = top if top is not None else _nice(highest)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * min(value, top) / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}" role="img" focusable="false"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for step in range(5):  # the value axis: 0, a quarter ... the top
        value = top * step / 4
        at = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"'
            f' stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{at + 4:.1f}" text-anchor="end" font-size="12"'
            f' fill="#0b0c0c">{_number(value)}{escape(unit)}</text>'
        )
    slot = plot_w / max(len(bars), 1)
    width = slot * 0.6
    for i, bar in enumerate(bars):
        x = LEFT + slot * i + (slot - width) / 2
        centre = x + width / 2
        if bar.value is not None and bar.value > 0:
            over = bar.limit is not None and bar.value > bar.limit
            parts.append(
                f'<rect x="{x:.1f}" y="{y(bar.value):.1f}" width="{width:.1f}"'
                f' height="{TOP + plot_h - y(bar.value):.1f}" fill="{OVER if over else BAR}"/>'
            )
        if bar.limit is not None:
            at = y(bar.limit)
            parts.append(
                f'<line x1="{x - 3:.1f}" x2="{x + width + 3:.1f}" y1="{at:.1f}" y2="{at:.1f}"'
                f' stroke="{REFERENCE}" stroke-width="3"/>'
            )
        shown = "–" if bar.value is None else f"{_number(bar.value)}{unit}"
        if bar.value is not None:
            parts.append(
                f'<text x="{centre:.1f}" y="{y(bar.value) - 4:.1f}" text-anchor="middle"'
                f' font-size="11" fill="#0b0c0c">{escape(shown)}</text>'
            )
        parts.append(
            f'<text x="{centre:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle"'
            f' font-size="11" fill="#0b0c0c">{escape(bar.label)}</text>'
        )
    if reference is not None:
        at = y(reference[0])
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"'
            f' stroke="{REFERENCE}" stroke-width="2" stroke-dasharray="6 4"/>'
        )
    legend = []
    if reference is not None:
        legend.append(f"dashed line: {reference[1]}")
    if limit_label:
        legend.append(f"black mark: {limit_label}; red bar: over it")
    if legend:
        parts.append(
            f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="12" fill="#0b0c0c">'
            f"{escape('; '.join(legend))}</text>"
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"'
        f' stroke="#0b0c0c" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(value: float) -> float:
    """A round maximum at or above ``value``: 1, 2 or 5 times a power of ten."""
    magnitude = 1.0
    while magnitude * 10 < value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude
