"""The geometry of the dashboard's charts: figures in, shapes to draw out; the templates write the SVG.

Server-drawn SVG, not a JavaScript chart library: the page then works without JavaScript and under a
CSP of ``default-src 'self'`` with no inline script or style (every colour below is an SVG
presentation attribute, which the CSP does not govern), and there is nothing to vendor or update.

How a cell is drawn, whatever the chart:

- a published figure carries cell-key noise (``perturbed``): it is drawn with a whisker over the range
  the noise may span (±``COUNT_NOISE``), so the reader sees that the value is approximate;
- a suppressed cell is a hatched mark (a pattern, not a colour) where its value would be, never a zero:
  a line breaks there, a bar is a hatched stub, a heat-map cell is hatched;
- a cell the table does not hold (no results) is not drawn at all, and is "–" in the table.

Series are told apart by colour (Okabe and Ito's palette, safe for the common colour-vision
deficiencies) and, so that colour is never the only cue, by the marker's shape and the line's dashes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from register.disclosure import COUNT_NOISE

#: Okabe & Ito (2008), the five of its colours with at least 3:1 contrast against white (WCAG 1.4.11:
#: sky blue, orange and yellow have 2.3, 2.3 and 1.3). Shapes and dashes cycle with different periods,
#: so the first twenty series differ in at least two of colour, marker and dash.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000")
MARKERS = ("circle", "square", "triangle", "diamond")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
#: a sequential single-hue scale for the heat map (ColorBrewer "Blues", 5 classes): lightness carries
#: the value, so it reads the same to every colour vision; the last two classes take white text
HEAT = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
HEAT_DARK_FROM = 3


@dataclass(frozen=True, slots=True)
class Cell:
    """One figure of a table as the API gave it."""

    value: int | None  # None: suppressed (or absent: then ``present`` is False)
    suppressed: bool = False
    perturbed: bool = False
    present: bool = True


ABSENT = Cell(None, present=False)


@dataclass(slots=True)
class Series:
    key: str
    label: str
    cells: list[Cell]  # one per x category


@dataclass(frozen=True, slots=True)
class Axis:
    ticks: list[tuple[float, str]]  # (pixel, label)


@dataclass(slots=True)
class Mark:
    x: float
    y: float
    label: str  # the x category
    cell: Cell
    whisker: tuple[float, float] | None = None  # (y top, y bottom) of the noise range


@dataclass(slots=True)
class DrawnSeries:
    key: str
    label: str
    colour: str
    marker: str
    dash: str
    segments: list[str] = field(default_factory=list)  # SVG polyline point lists, broken at gaps
    marks: list[Mark] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(slots=True)
class LineChart:
    width: int
    height: int
    box: Box
    x_axis: Axis
    y_axis: Axis
    series: list[DrawnSeries]

    @property
    def has_suppressed(self) -> bool:
        return any(m.cell.suppressed for s in self.series for m in s.marks)


@dataclass(slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    cell: Cell
    whisker: tuple[float, float] | None = None


@dataclass(slots=True)
class BarChart:
    width: int
    height: int
    box: Box
    y_axis: Axis
    bars: list[Bar]

    @property
    def has_suppressed(self) -> bool:
        return any(b.cell.suppressed for b in self.bars)


@dataclass(slots=True)
class HeatCell:
    x: float
    y: float
    width: float
    height: float
    cell: Cell
    shade: int  # index into HEAT; -1 for suppressed or absent


@dataclass(slots=True)
class HeatRow:
    label: str
    y: float
    cells: list[HeatCell]


@dataclass(slots=True)
class HeatMap:
    width: int
    height: int
    left: float
    columns: list[tuple[float, str]]  # (centre x, label)
    rows: list[HeatRow]
    bins: list[tuple[int, int]]  # value range of each shade, for the legend

    @property
    def has_suppressed(self) -> bool:
        return any(c.cell.suppressed for r in self.rows for c in r.cells)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above ``value`` (an axis ends on a round number)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _y_axis(top_value: float, box: Box) -> tuple[Axis, float]:
    """Five intervals from 0 to a round maximum, and the maximum."""
    maximum = nice_ceiling(top_value * 1.05)
    ticks = []
    for k in range(6):
        value = maximum * k / 5
        ticks.append((box.bottom - box.height * k / 5, f"{value:,.0f}".replace(",", " ")))
    return Axis(ticks), maximum


def _highest(cells: Sequence[Cell]) -> float:
    return max((c.value + COUNT_NOISE for c in cells if c.value is not None), default=1)


def line_chart(
    xs: Sequence[str], series: Sequence[Series], *, width: int = 640, height: int = 300
) -> LineChart:
    box = Box(64, 16, width - 16, height - 36)
    y_axis, maximum = _y_axis(_highest([c for s in series for c in s.cells]), box)
    step = box.width / max(1, len(xs) - 1)
    x_of = [box.left + step * i if len(xs) > 1 else box.left + box.width / 2 for i in range(len(xs))]
    label_every = max(1, math.ceil(len(xs) / 12))  # at most 12 year labels fit under 576 pixels
    x_axis = Axis([(x_of[i], x) for i, x in enumerate(xs) if i % label_every == 0])

    def y_of(value: float) -> float:
        return box.bottom - box.height * value / maximum

    drawn = []
    for k, one in enumerate(series):
        d = DrawnSeries(
            one.key, one.label, PALETTE[k % len(PALETTE)], MARKERS[k % len(MARKERS)], DASHES[k % len(DASHES)]
        )
        run: list[str] = []
        for i, cell in enumerate(one.cells):
            if cell.value is None:
                if len(run) > 1:  # a lone point between gaps is drawn by its marker alone
                    d.segments.append(" ".join(run))
                run = []
                if cell.suppressed:
                    d.marks.append(Mark(x_of[i], box.bottom, xs[i], cell))
                continue
            y = y_of(cell.value)
            run.append(f"{x_of[i]:.1f},{y:.1f}")
            whisker = _whisker(cell, y_of)
            d.marks.append(Mark(x_of[i], y, xs[i], cell, whisker))
        if len(run) > 1:
            d.segments.append(" ".join(run))
        drawn.append(d)
    return LineChart(width, height, box, x_axis, y_axis, drawn)


def _whisker(cell: Cell, y_of: Callable[[float], float]) -> tuple[float, float] | None:
    if not cell.perturbed or cell.value is None:
        return None
    return (y_of(cell.value + COUNT_NOISE), y_of(max(0, cell.value - COUNT_NOISE)))


#: how tall a suppressed bar's hatched stub is: visible, and plainly not a measured height
STUB = 14.0


def bar_chart(
    labels: Sequence[str], cells: Sequence[Cell], *, width: int = 320, height: int = 220
) -> BarChart:
    box = Box(56, 12, width - 8, height - 36)
    y_axis, maximum = _y_axis(_highest(cells), box)
    slot = box.width / max(1, len(labels))
    bar_width = slot * 0.7

    def y_of(value: float) -> float:
        return box.bottom - box.height * value / maximum

    bars = []
    for i, (label, cell) in enumerate(zip(labels, cells, strict=True)):
        x = box.left + slot * i + (slot - bar_width) / 2
        if cell.suppressed or cell.value is None:
            if cell.suppressed:
                bars.append(Bar(x, box.bottom - STUB, bar_width, STUB, label, cell))
            continue
        y = y_of(cell.value)
        bars.append(Bar(x, y, bar_width, box.bottom - y, label, cell, _whisker(cell, y_of)))
    return BarChart(width, height, box, y_axis, bars)


def heat_map(
    xs: Sequence[str], series: Sequence[Series], *, width: int = 640, row_height: int = 26, left: int = 120
) -> HeatMap:
    values = sorted(c.value for s in series for c in s.cells if c.value is not None)
    # Shades by quantile, so that a few large fields do not leave the rest all in the lightest class.
    edges = (
        [values[min(len(values) - 1, len(values) * k // len(HEAT))] for k in range(len(HEAT))]
        if values
        else [0]
    )
    bins = [
        (edges[k], (edges[k + 1] - 1) if k + 1 < len(edges) else (values[-1] if values else 0))
        for k in range(len(edges))
    ]
    column = (width - left - 8) / max(1, len(xs))
    columns = [(left + column * (i + 0.5), x) for i, x in enumerate(xs)]
    rows = []
    for r, one in enumerate(series):
        y = 28 + r * row_height
        cells = []
        for i, cell in enumerate(one.cells):
            shade = -1
            if cell.value is not None:
                shade = (
                    max(k for k, edge in enumerate(edges) if cell.value >= edge)
                    if cell.value >= edges[0]
                    else 0
                )
            cells.append(HeatCell(left + column * i + 1, y, column - 2, row_height - 2, cell, shade))
        rows.append(HeatRow(one.label, y, cells))
    height = 28 + len(series) * row_height + 8
    return HeatMap(width, height, left, columns, rows, bins)
