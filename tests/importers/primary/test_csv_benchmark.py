"""A smoke-size run of the CSV benchmark: the script works and goes through the real import path."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Engine, text

from benchmarks.csv_import import ROWS_PER_PUPIL, run, write_primary_csv
from importers.base import ImportContext
from importers.primary.rows import PrimaryCsvImporter
from register.records import AchievementRecord
from register.sectors import Sector
from register.settings import Settings


def test_generated_rows_make_the_records_it_promises() -> None:
    import random

    out = io.StringIO()
    records = write_primary_csv(out, 50, "946142263", random.Random(3))
    items = list(
        PrimaryCsvImporter().extract(io.BytesIO(out.getvalue().encode()), ImportContext(Sector.PRIMARY, "x"))
    )
    assert all(isinstance(i, AchievementRecord) for i in items)
    assert len(items) == records == 50 + -(-50 // ROWS_PER_PUPIL)


@pytest.mark.bench
def test_smoke_run(db: Engine, settings: Settings) -> None:
    result = run(db, 2_000, settings=settings.model_copy(update={"import_chunk_rows": 500}))
    assert (result["status"], result["format"], result["rejected"]) == ("completed", "primary-csv", 0)
    assert result["accepted"] == result["records"]
    assert result["rows_per_second"] > 0 and result["peak_rss_mb"] > 0
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar_one() == result["records"]
