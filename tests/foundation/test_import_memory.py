"""An import's memory is its chunk's, whatever the register holds: nothing the import process reads
grows with the register (docs/performance.md, "Memory of a big ELMO import").

Asserted on what is fetched, not on memory: the rows every statement of an import (ingest, write,
statistics refresh) hands to Python are the same into an empty register and into one holding many
more achievements and persons — a statement that read the register's rows into the process (a
roll-up, all persons, all stored hashes) would make the second count larger.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from intake.batches import run_import
from register.settings import Settings
from tests.factories import create_organisation, new_nin
from tests.foundation.recordlines import lines

pytestmark = pytest.mark.usefixtures("record_lines")


@contextmanager
def rows_fetched(engine: Engine) -> Iterator[list[int]]:
    """The number of rows each statement run through ``engine`` returned (psycopg's client-side cursor
    holds the whole result, so ``rowcount`` is what reached the process's memory)."""
    counts: list[int] = []

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if cursor.description is not None:
            counts.append(max(cursor.rowcount, 0))

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield counts
    finally:
        event.remove(engine, "after_cursor_execute", after)


def delivery(school: str, tag: str, pupils: int, subjects: int) -> bytes:
    return lines(
        *(
            {"nin": nin, "key": f"{tag}-{p}-{s}", "org": school, "code": f"S{s}", "grade": str(1 + s % 6)}
            for p, nin in enumerate(new_nin() for _ in range(pupils))
            for s in range(subjects)
        )
    )


def test_an_import_reads_no_more_rows_from_a_fuller_register(db: Engine, settings: Settings) -> None:
    assert settings.stats_refresh == "after_import"  # the refresh after the commit is measured too
    school = create_organisation(db, name="Nordby videregående skole")
    other = create_organisation(db, name="Sørby videregående skole")

    def deliver(provider: str, data: bytes) -> list[int]:
        with rows_fetched(db) as counts:
            report = run_import(
                db, io.BytesIO(data), sector="primary", provider_orgnr=provider, settings=settings
            )
        assert (report.status, report.rejected) == ("completed", 0)
        return counts

    into_empty = deliver(school, delivery(school, "a", pupils=5, subjects=4))
    # The register grows forty-fold: other persons, other results, their statistics cells.
    deliver(other, delivery(other, "b", pupils=100, subjects=8))
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar_one() == 5 * 4 + 100 * 8
        assert conn.execute(text("SELECT count(*) FROM stats_pending")).scalar_one() == 0
    into_fuller = deliver(school, delivery(school, "c", pupils=5, subjects=4))

    assert sum(into_fuller) == sum(into_empty)
    assert max(into_fuller) <= 5 * 4  # no statement returns more rows than the delivery has records
