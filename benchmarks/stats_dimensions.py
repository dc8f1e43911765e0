"""Measure what keeping gender, age group and county in the kept roll-ups would cost (docs/statistics.md).

    python -m benchmarks.stats_dimensions     # against REGISTER_DATABASE_URL (e.g. the `make run` register)

Counts the cells and times one build of (a) the 32 roll-ups kept now (sector, year, provider, level,
field) and (b) the 256 they would be with gender, age group and county kept too, both from the person
cells, as a rebuild does; and times the on-demand answers by each new dimension that (a) leaves to
``stats_person_cell``.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, text

from register import stats
from register.database import get_engine

KEPT = "sector, year, provider_id, level, field"
WIDER = KEPT + ", gender, age_group, county"
CELLS = (
    "(SELECT c.*, o.county FROM stats_person_cell c LEFT JOIN organisation o ON o.id = c.provider_id) AS c"
)


def _cube(conn: Connection, columns: str) -> tuple[int, float]:
    started = time.perf_counter()
    cells = conn.execute(
        text(
            f"""SELECT count(*) FROM (SELECT count(DISTINCT person_id), sum(achievements)
                FROM {CELLS} GROUP BY CUBE ({columns})) AS rollups"""
        )
    ).scalar_one()
    return int(cells), time.perf_counter() - started


def measure(conn: Connection) -> dict[str, float]:
    persons = conn.execute(text("SELECT count(DISTINCT person_id) FROM stats_person_cell")).scalar_one()
    kept_cells, kept_seconds = _cube(conn, KEPT)
    wide_cells, wide_seconds = _cube(conn, WIDER)
    figures: dict[str, float] = {
        "persons": persons,
        "kept_cells": kept_cells,
        "kept_seconds": round(kept_seconds, 3),
        "wider_cells": wide_cells,
        "wider_seconds": round(wide_seconds, 3),
    }
    for dimension in ("gender", "age_group", "county"):
        started = time.perf_counter()
        stats.achievement_stats(conn, group_by=["sector", dimension], filters={}, threshold=5)
        figures[f"on_demand_{dimension}_seconds"] = round(time.perf_counter() - started, 3)
    return figures


if __name__ == "__main__":
    with get_engine().connect() as connection:
        for name, value in measure(connection).items():
            print(f"{name}: {value}")
