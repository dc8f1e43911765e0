"""A smoke-size run of the ELMO benchmark: the script works and goes through the real import path."""

from __future__ import annotations

import io
import random

import pytest
from sqlalchemy import Engine, text

from benchmarks.elmo_import import fresh_institution, run, write_elmo_batch
from register.settings import Settings
from tests.importers.higher.helpers import extract


def test_generated_batch_makes_the_records_it_promises() -> None:
    out = io.StringIO()
    counts = write_elmo_batch(out, 60_000, fresh_institution(random.Random(2)), random.Random(2))
    result = extract(out.getvalue().encode())
    assert result.errors == [] and len(result.records) == counts["records"]
    assert result.facts.details["learners"] == counts["learners"] > 1


@pytest.mark.bench
def test_smoke_run(db: Engine, settings: Settings) -> None:
    result = run(db, 0.3, settings=settings.model_copy(update={"import_chunk_rows": 500}))
    assert (result["status"], result["format"], result["rejected"]) == ("completed", "elmo", 0)
    assert result["accepted"] == result["records"] > 0
    assert result["records_per_second"] > 0 and result["peak_rss_mb"] > 0
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar_one() == result["records"]


@pytest.mark.bench
def test_parse_only_smoke_run() -> None:
    result = run(None, 0.2, only_parse=True)
    assert result["parsed_records"] == result["records"] > 0
