"""The fagskole demo set imports through the real path, every row accepted."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import Engine, text

from demo.vocational import demo_set
from register.settings import Settings
from tests.importers.primary.test_primary_demo import load


def test_the_demo_imports_whole(db: Engine, settings: Settings) -> None:
    results = load(db, settings, demo_set(random.Random("test")))
    assert [fmt for fmt, _, _ in results] == ["vocational-csv", "vocational-json"]
    assert all(rejected == 0 and accepted > 0 for _, accepted, rejected in results)
    with db.connect() as conn:
        degrees = conn.execute(
            text(
                """SELECT s.credits, sum(c.credits) FROM achievement d
                   JOIN learning_specification s ON s.id = d.specification_id
                   JOIN achievement c ON c.part_of_id = d.id WHERE d.kind = 'degree' GROUP BY d.id, s.credits"""
            )
        ).all()
        schemes = conn.execute(
            text("SELECT DISTINCT credit_scheme FROM achievement WHERE credits IS NOT NULL")
        ).all()
    # Every vitnemål's passed courses add up to its education's fagskolepoeng; nothing is ECTS.
    assert degrees and all(total == awarded for total, awarded in degrees)
    assert {row[0] for row in degrees} <= {Decimal("120"), Decimal("60"), Decimal("30")}
    assert schemes == [("fagskolepoeng",)]
