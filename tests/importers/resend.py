"""What the re-send tests of every format compare: a batch's records as the register stored them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from intake.batches import BatchReport


def records_of(engine: Engine, report: BatchReport) -> list[tuple[Any, ...]]:
    """GET /v1/batches/{id}/records as stored: seq, ref, source key, achievement id, outcome."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT seq, ref, source_key, achievement_id, outcome FROM import_record"
                " WHERE batch_id = :b ORDER BY seq"
            ),
            {"b": report.batch_id},
        )
        return [tuple(r) for r in rows]
