"""The dashboard's chart geometry: a suppressed cell is a mark of its own, never a value; noise is a whisker."""

from __future__ import annotations

import pytest

from api.dashboard import charts
from api.dashboard.charts import ABSENT, Cell, Series
from register.disclosure import COUNT_NOISE


@pytest.mark.parametrize(
    ("value", "axis_end"), [(0, 1), (0.7, 1), (9, 10), (11, 20), (180, 200), (2100, 2500), (4999, 5000)]
)
def test_an_axis_ends_on_a_round_number(value: float, axis_end: float) -> None:
    assert charts.nice_ceiling(value) == axis_end


def test_a_suppressed_cell_breaks_the_line_and_is_marked_at_the_baseline() -> None:
    cells = [
        Cell(40, perturbed=True),
        Cell(42, perturbed=True),
        Cell(None, suppressed=True),
        Cell(45, perturbed=True),
        Cell(47, perturbed=True),
    ]
    chart = charts.line_chart(["2021", "2022", "2023", "2024", "2025"], [Series("micro", "Micro", cells)])
    (drawn,) = chart.series
    assert len(drawn.segments) == 2  # 2021–2022 and 2024–2025: no line through the hidden year
    assert [len(s.split()) for s in drawn.segments] == [2, 2]
    hidden = [m for m in drawn.marks if m.cell.suppressed]
    assert len(hidden) == 1 and hidden[0].y == chart.box.bottom and hidden[0].label == "2023"
    assert chart.has_suppressed


def test_an_absent_cell_is_not_drawn_at_all() -> None:
    chart = charts.line_chart(["2024", "2025"], [Series("higher", "Higher", [ABSENT, Cell(10)])])
    (drawn,) = chart.series
    assert [m.label for m in drawn.marks] == ["2025"] and drawn.segments == []
    assert not chart.has_suppressed


def test_a_perturbed_figure_has_a_whisker_over_the_noise_range() -> None:
    chart = charts.bar_chart(["A", "B"], [Cell(100, perturbed=True), Cell(50)])
    noisy, exact = chart.bars
    assert exact.whisker is None
    assert noisy.whisker is not None
    top, bottom = noisy.whisker
    per_unit = noisy.height / 100
    assert bottom - top == pytest.approx(2 * COUNT_NOISE * per_unit)


def test_a_suppressed_bar_is_a_fixed_stub_not_a_height() -> None:
    chart = charts.bar_chart(["A", "B"], [Cell(1000), Cell(None, suppressed=True)])
    shown, hidden = chart.bars
    assert hidden.cell.suppressed and hidden.height == charts.STUB < shown.height


def test_heat_map_shades_follow_the_figures() -> None:
    cells = [Cell(v) for v in (1, 10, 100, 1000, 10000)] + [Cell(None, suppressed=True)]
    heat = charts.heat_map([str(y) for y in range(2020, 2026)], [Series("0613", "0613", cells)])
    shades = [c.shade for c in heat.rows[0].cells]
    assert shades[:5] == sorted(shades[:5]) and shades[0] < shades[4]
    assert shades[5] == -1 and heat.has_suppressed
