"""From the API's answers to what the page shows: the tables the dashboard asks for, their charts and rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from api.dashboard import charts
from api.dashboard.charts import ABSENT, Cell, Series
from register.grading import NKR_LEVELS, SCALES, GradeScheme
from register.sectors import Sector

Measure = Literal["achievements", "persons"]
MEASURES: tuple[Measure, ...] = ("achievements", "persons")
#: the download formats of ``GET /v1/stats/achievements`` (``format=``), and a file name's extension
FORMATS = {"json": "json", "json-stat": "json", "csv-nb": "csv", "csv-en": "csv"}
#: how many years the charts show by default, ending with the latest that has results
DEFAULT_YEARS = 10


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table the dashboard shows: what it groups by and which of the page's filters it takes."""

    key: str
    group_by: tuple[str, ...]
    filters: tuple[str, ...]
    title: str  # text key


TABLES = {
    spec.key: spec
    for spec in (
        TableSpec("sector", ("year", "sector"), (), "chart_sector"),
        TableSpec("field", ("year", "field"), ("sector",), "chart_field"),
        TableSpec("level", ("year", "level"), ("sector",), "chart_level"),
        TableSpec("grade", ("grade",), ("sector", "year"), "chart_grade"),
    )
}


def api_query(spec: TableSpec, filters: dict[str, str | None], fmt: str | None = None) -> dict[str, str]:
    """The query string of the API request for ``spec`` under the page's filters."""
    query = {"group_by": ",".join(spec.group_by)}
    query.update({name: value for name in spec.filters if (value := filters.get(name))})
    if fmt:
        query["format"] = fmt
    return query


@dataclass(slots=True)
class TableRow:
    label: str
    cells: list[Cell]


@dataclass(slots=True)
class Panel:
    """A chart, its table and its downloads; ``kind`` picks the template's drawing."""

    key: str
    title: str
    kind: str  # line | heat | bars
    chart: Any
    columns: list[str]
    rows: list[TableRow]
    description: str
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (format, url)
    corner: str = ""  # the table's top-left heading
    suppressed: int = 0


def cell_of(raw: dict[str, Any] | None, measure: Measure) -> Cell:
    if raw is None:
        return ABSENT
    value = raw.get(measure)
    return Cell(
        value if isinstance(value, int) else None, bool(raw.get("suppressed")), bool(raw.get("perturbed"))
    )


def years_shown(answer: dict[str, Any], since: int | None) -> list[str]:
    """The years from ``since`` (default: the last ``DEFAULT_YEARS``) to the latest with results."""
    years = sorted({c["year"] for c in answer.get("cells", []) if isinstance(c.get("year"), int)})
    if not years:
        return []
    first = since if since is not None else years[-1] - DEFAULT_YEARS + 1
    return [str(y) for y in range(max(first, years[0]), years[-1] + 1)]


def _grid(
    answer: dict[str, Any],
    series_dim: str,
    xs: list[str],
    measure: Measure,
    label: Callable[[str | None], str],
    order: Callable[[list[str | None]], list[str | None]],
) -> list[Series]:
    found: dict[tuple[str | None, str], dict[str, Any]] = {}
    for raw in answer.get("cells", []):
        found[(raw.get(series_dim), str(raw.get("year")))] = raw
    keys = order(list({k for k, _ in found}))
    return [
        Series(str(k), label(k), [cell_of(found.get((k, x)), measure) for x in xs])
        for k in keys
        if any((k, x) in found for x in xs)
    ]


def sector_order(keys: list[str | None]) -> list[str | None]:
    known = [s.value for s in Sector]
    return sorted(keys, key=lambda k: (k not in known, known.index(k) if k in known else 0, str(k)))


def level_order(keys: list[str | None]) -> list[str | None]:
    nkr = list(NKR_LEVELS)
    return sorted(keys, key=lambda k: (k is None, k not in nkr, nkr.index(k) if k in nkr else 0, str(k)))


def total_order(
    answer: dict[str, Any], dim: str, measure: Measure
) -> Callable[[list[str | None]], list[str | None]]:
    """The largest first: a heat map's rows read from the fields with most results down."""
    totals: dict[str | None, int] = {}
    for raw in answer.get("cells", []):
        totals[raw.get(dim)] = totals.get(raw.get(dim), 0) + (raw.get(measure) or 0)
    return lambda keys: sorted(keys, key=lambda k: (k is None, -totals.get(k, 0), str(k)))


def describe(series: Iterable[Series], xs: list[str], text: dict[str, str]) -> str:
    """The chart in words (the SVG's ``<desc>``): each series' first and last figure, its hidden cells."""
    parts = []
    for one in series:
        shown = [(x, c.value) for x, c in zip(xs, one.cells, strict=True) if c.value is not None]
        hidden = sum(c.suppressed for c in one.cells)
        summary = []
        if shown:
            (x0, first), (x1, last) = shown[0], shown[-1]
            summary.append(text["desc_range"].format(first=first, x0=x0, last=last, x1=x1))
        if hidden:
            summary.append(text["desc_suppressed"].format(n=hidden))
        parts.append(text["desc_series"].format(label=one.label, summary=", ".join(summary)))
    return " ".join(parts)


def over_years(
    spec: TableSpec,
    answer: dict[str, Any],
    xs: list[str],
    measure: Measure,
    text: dict[str, str],
) -> Panel:
    dim = spec.group_by[1]
    unknown = text["unknown"]
    if dim == "sector":
        series = _grid(answer, dim, xs, measure, lambda k: text.get(k or "", k or unknown), sector_order)
    elif dim == "level":
        series = _grid(answer, dim, xs, measure, lambda k: k or unknown, level_order)
    else:
        series = _grid(answer, dim, xs, measure, lambda k: k or unknown, total_order(answer, dim, measure))
    kind = "heat" if dim == "field" else "line"
    chart = charts.heat_map(xs, series) if kind == "heat" else charts.line_chart(xs, series)
    return Panel(
        spec.key,
        text[spec.title],
        kind,
        chart,
        xs,
        [TableRow(s.label, s.cells) for s in series],
        describe(series, xs, text),
        corner=text.get(dim, dim.capitalize()),
        suppressed=sum(c.suppressed for s in series for c in s.cells),
    )


def grade_panels(
    spec: TableSpec, answer: dict[str, Any], measure: Measure, text: dict[str, str]
) -> list[Panel]:
    """One bar chart per grade scale present (grades of different scales are not one distribution)."""
    by_scheme: dict[str, dict[str, dict[str, Any]]] = {}
    for raw in answer.get("cells", []):
        grade = raw.get("grade") or {}
        scheme, value = grade.get("scheme"), grade.get("value")
        if scheme and value is not None:
            by_scheme.setdefault(scheme, {})[value] = raw
    panels = []
    for scheme in sorted(by_scheme, key=_scheme_rank):
        values = _grade_order(scheme, list(by_scheme[scheme]))
        cells = [cell_of(by_scheme[scheme][v], measure) for v in values]
        series = [Series(scheme, text["scale"].format(scheme=scheme), cells)]
        panels.append(
            Panel(
                f"grade-{scheme}",
                text["scale"].format(scheme=scheme),
                "bars",
                charts.bar_chart(values, cells),
                values,
                [TableRow(text["measure_" + measure], cells)],
                describe(series, values, text),
                corner=text["grade_col"],
                suppressed=sum(c.suppressed for c in cells),
            )
        )
    return panels


def _scheme_rank(scheme: str) -> tuple[int, str]:
    known = [s.value for s in SCALES]
    return (known.index(scheme) if scheme in known else len(known), scheme)


def _grade_order(scheme: str, values: list[str]) -> list[str]:
    try:
        order = [v.value.casefold() for v in SCALES[GradeScheme(scheme)].values()]
    except (ValueError, KeyError):
        order = []
    return sorted(
        values,
        key=lambda v: (
            v.casefold() not in order,
            order.index(v.casefold()) if v.casefold() in order else 0,
            v,
        ),
    )
