"""Answering an analyst: one roll-up level read, filtered, perturbed and suppressed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.errors import QueryCanceled
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from register import disclosure
from register.classifications import AGE_GROUP_LABELS, COUNTIES, GENDERS
from register.errors import InvalidInput
from register.stats.cube import (
    CREDIT_COLUMNS,
    DIMENSIONS,
    KEY_COLUMNS,
    MATERIALIZED,
    MAX_TABLE_CELLS,
    kept_select,
    on_demand_select,
    rolled_mask,
)
from register.stats.suppression import suppress
from register.stats.views import ProviderRef, StatsCellView, StatsResult


def parse_group_by(raw: str | None) -> list[str]:
    names = [part.strip() for part in (raw or "").split(",") if part.strip()]
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise InvalidInput(
            "stats.unknown_dimension",
            f"cannot group by {', '.join(unknown)}; dimensions: {', '.join(DIMENSIONS)}",
        )
    if len(set(names)) != len(names):
        raise InvalidInput("stats.repeated_dimension", "a dimension appears twice in group_by")
    return names


def achievement_stats(
    conn: Connection,
    *,
    group_by: Sequence[str],
    filters: Mapping[str, Any],
    threshold: int,
    on_demand_seconds: float = 30.0,
    exact: bool = False,
) -> StatsResult:
    """Counts, distinct persons and credits per credit scheme, grouped and filtered, with disclosure control.

    ``filters`` maps dimension names to a value, or a tuple of values: sector/level/field/nus (text),
    year (int), provider (orgnr), grade (``scheme:value``). A dimension filtered by several values is
    grouped by as well: each value its own cells (their sum would be a new, unperturbed figure, and
    would count a person of two of them twice). A table computed on demand (NUS or grade among the
    dimensions) may take ``on_demand_seconds`` at most (``stats.too_expensive`` beyond).

    Every figure is perturbed by its cell key and small cells are suppressed (``register.disclosure``).
    ``exact=True`` gives the stored figures, for the register's own checks; no API passes it.
    """
    active = {name: value for name, value in filters.items() if value is not None}
    # Several years are one population (below), not one table per year: they are not grouped by here.
    several = [name for name, value in active.items() if isinstance(value, tuple) and name != "year"]
    group = list(group_by) + [
        name for name in sorted(several, key=list(DIMENSIONS).index) if name not in group_by
    ]
    unknown = [n for n in active if n not in DIMENSIONS]
    if unknown:
        raise InvalidInput("stats.unknown_dimension", f"cannot filter on {', '.join(unknown)}")
    if "year" in active:
        active["year"] = _years(active["year"])
    params = _resolve_filters(conn, active)
    kept = set(group) | set(active)
    # Several years, not grouped by year: one population (its persons counted once), so one table of
    # the person cells of those years — suppressed as a whole like any other table.
    year_set = isinstance(active.get("year"), tuple) and "year" not in group
    if year_set:
        kept.discard("year")
        params.pop("year")
    ordered = sorted(kept, key=list(DIMENSIONS).index)
    on_demand = year_set or not kept <= set(MATERIALIZED)
    if on_demand:
        # A scan of every person's cells: bounded, so one analyst cannot hold a connection for minutes.
        conn.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"),
            {"ms": str(int(on_demand_seconds * 1000))},
        )
    source = f"({on_demand_select(ordered, years=year_set)})" if on_demand else f"({kept_select()})"
    try:
        rows = conn.execute(
            text(
                # In one order, always: the secondary suppression goes through the lines in the order
                # of the rows, and a table must hide the same cells every time it is asked (a scan's
                # order is not fixed: a synchronized scan starts where another one is).
                f"""SELECT c.*, o.orgnr AS provider_orgnr, o.name_nb AS provider_name,
                           o.name_en AS provider_name_en
                    FROM {source} c LEFT JOIN organisation o ON o.id = c.provider_id
                    ORDER BY {", ".join(f"c.{column}" for column in KEY_COLUMNS)}
                    LIMIT :n"""
            ),
            {
                "rolled": rolled_mask(kept),
                "n": MAX_TABLE_CELLS + 1,
                "years": list(active["year"]) if year_set else None,
            },
        ).all()
    except DBAPIError as exc:
        if not isinstance(exc.orig, QueryCanceled):
            raise
        raise InvalidInput(
            "stats.too_expensive",
            f"a table by {', '.join(ordered)} is computed from every person's cells and took longer than"
            f" {on_demand_seconds:g} s; group and filter only by {', '.join(MATERIALIZED)} (kept ready),"
            " or by fewer dimensions",
        ) from None
    if len(rows) > MAX_TABLE_CELLS:
        # Suppression needs the whole table (filters are applied after it), so its size is bounded.
        raise InvalidInput(
            "stats.too_many_cells",
            f"grouping and filtering by {', '.join(sorted(kept))} spans more than {MAX_TABLE_CELLS} cells;"
            " group or filter by fewer dimensions",
        )
    # The table of every kept dimension (filters included), suppressed as a whole, then filtered.
    cells = [_cell(row, ordered) for row in rows]
    shown_persons = None if exact else [_perturb(cell, row) for cell, row in zip(cells, rows, strict=True)]
    suppress(cells, ordered, threshold, shown_persons)
    selected = [
        c for c, row in zip(cells, rows, strict=True) if all(_matches(row, d, v) for d, v in params.items())
    ]
    result = StatsResult(group_by=group, filters=dict(active), threshold=threshold)
    for cell in selected:
        cell.key = {d: cell.key[d] for d in group}
        result.cells.append(cell)
    result.cells.sort(key=lambda c: [_sort_key(c.key[d]) for d in group])
    return result


#: the dimensions whose codes are a closed list: a filter on another code is refused, not answered empty
CLOSED_LISTS: dict[str, tuple[str, ...]] = {
    "gender": tuple(GENDERS),
    "age_group": tuple(AGE_GROUP_LABELS),
    "county": tuple(COUNTIES),
}
#: the most years one filter may name (a range of a working life and then some)
MAX_YEARS = 100


def parse_years(raw: str) -> int | tuple[int, ...]:
    """``2024``, a set ``2021,2023`` or a range ``2020-2024`` (or both: ``2018,2020-2022``)."""
    years: set[int] = set()
    for part in raw.split(","):
        first, dash, last = part.strip().partition("-")
        if not (first.isdigit() and (not dash or last.isdigit())):
            raise InvalidInput(
                "stats.year_filter", "a year filter is a year, a set (2021,2023) or a range (2020-2024)"
            )
        low, high = int(first), int(last) if dash else int(first)
        if not (1900 <= low <= high <= 2200) or high - low >= MAX_YEARS:
            raise InvalidInput(
                "stats.year_filter",
                f"years run from 1900 to 2200, a range upwards, at most {MAX_YEARS} years",
            )
        years.update(range(low, high + 1))
    return _years(tuple(years))


def _years(value: Any) -> int | tuple[int, ...]:
    """One year as an int; several as a sorted tuple (at most ``MAX_YEARS``)."""
    if isinstance(value, int):
        return value
    years = tuple(sorted({int(y) for y in value}))
    if not years or len(years) > MAX_YEARS or not 1900 <= years[0] <= years[-1] <= 2200:
        raise InvalidInput(
            "stats.year_filter", f"a year filter names 1 to {MAX_YEARS} years, each from 1900 to 2200"
        )
    return years[0] if len(years) == 1 else years


def _resolve_filters(conn: Connection, active: Mapping[str, Any]) -> dict[str, set[tuple[Any, ...]]]:
    """The filters as dimension → the expected column values (one tuple per value given); orgnr and
    grade are resolved here. Several years are one set (a year-set table, or, grouped by year, the
    rows of those years)."""
    resolved: dict[str, set[tuple[Any, ...]]] = {}
    for name, given in active.items():
        if name == "year" and isinstance(given, tuple):
            resolved[name] = {(frozenset(given),)}
            continue
        resolved[name] = {_resolve(conn, name, v) for v in (given if isinstance(given, tuple) else (given,))}
    return resolved


def _resolve(conn: Connection, name: str, value: Any) -> tuple[Any, ...]:
    if name == "provider":
        found = conn.execute(text("SELECT id FROM organisation WHERE orgnr = :o"), {"o": str(value)}).scalar()
        return (found if found is not None else -1,)
    if name == "grade":
        scheme, sep, grade = str(value).partition(":")
        if not sep:
            raise InvalidInput("stats.grade_filter", "the grade filter is SCHEME:VALUE, e.g. a-f:A")
        return (scheme, grade)
    if name in CLOSED_LISTS:
        if value not in CLOSED_LISTS[name]:
            raise InvalidInput(
                "stats.unknown_code",
                f"{name} is one of {', '.join(CLOSED_LISTS[name])} (GET /v1/stats/dimensions/{name})",
            )
        return (value,)
    if name == "year":
        return (int(value),)
    return (str(value),)


def _matches(row: Any, dimension: str, expected: set[tuple[Any, ...]]) -> bool:
    if dimension == "year":
        for value in expected:
            if isinstance(value[0], frozenset):
                return row.year in value[0]
    return tuple(getattr(row, col) for col in DIMENSIONS[dimension]) in expected


def _cell(row: Any, kept: Sequence[str]) -> StatsCellView:
    key: dict[str, Any] = {}
    for d in kept:
        if d == "provider":
            key[d] = (
                ProviderRef(row.provider_orgnr, row.provider_name, row.provider_name_en)
                if row.provider_id is not None
                else None
            )
        elif d == "grade":
            key[d] = (row.grade_scheme, row.grade_value) if row.grade_scheme is not None else None
        else:
            key[d] = getattr(row, DIMENSIONS[d][0])
    credits = {
        scheme: getattr(row, column) for scheme, column in CREDIT_COLUMNS.items() if getattr(row, column)
    }
    return StatsCellView(key=key, achievements=row.achievements, persons=row.persons, credits=credits)


def _perturb(cell: StatsCellView, row: Any) -> int:
    """Put the cell-key noise on ``cell``'s figures; returns the true persons (for the suppression)."""
    true_persons = int(row.persons)
    shown = disclosure.perturb(
        persons=true_persons,
        achievements=int(row.achievements),
        credits=cell.credits or {},
        person_key=int(row.person_key),
        achievement_key=int(row.achievement_key),
    )
    cell.persons, cell.achievements, cell.credits = shown.persons, shown.achievements, shown.credits
    cell.perturbed = True
    return true_persons


def _sort_key(value: Any) -> tuple[int, str]:
    if value is None:
        return (1, "")
    if isinstance(value, ProviderRef):
        return (0, value.orgnr or value.name)
    return (0, f"{value:>12}" if isinstance(value, int) else str(value))
