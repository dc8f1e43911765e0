"""The demo set imports through the real path, every row accepted, and looks like real school data."""

from __future__ import annotations

import io
import random

from sqlalchemy import Engine, text

from demo.load import DemoSet
from demo.primary import demo_set
from intake.batches import run_import
from register.settings import Settings
from tests.factories import create_organisation


def load(engine: Engine, settings: Settings, demo: DemoSet) -> list[tuple[str, int, int]]:
    for org in demo.organisations:
        create_organisation(engine, orgnr=org.orgnr, name=org.name, kind=org.kind, codes=dict(org.codes))
    for org in demo.organisations:
        if org.delivers_for:
            create_organisation(
                engine, orgnr=org.orgnr, name=org.name, kind=org.kind, delivers_for=list(org.delivers_for)
            )
    results = []
    for delivery in demo.deliveries:
        report = run_import(
            engine,
            io.BytesIO(delivery.content),
            sector=delivery.sector,
            provider_orgnr=delivery.provider_orgnr,
            filename=delivery.filename,
            settings=settings,
        )
        assert report.errors == [] and report.failure is None, (
            delivery.filename,
            report.errors[:3],
            report.failure,
        )
        results.append((report.format or "", report.accepted, report.rejected))
    return results


def test_the_demo_imports_whole(db: Engine, settings: Settings) -> None:
    demo = demo_set(random.Random("test"))
    results = load(db, settings, demo)
    assert [fmt for fmt, _, _ in results] == ["primary-csv", "primary-json"]
    assert all(rejected == 0 and accepted > 0 for _, accepted, rejected in results)
    with db.connect() as conn:
        sizes = (
            conn.execute(
                text(
                    """SELECT count(DISTINCT c.specification_id) FROM achievement d JOIN achievement c ON c.part_of_id = d.id
                   WHERE d.details->>'utdanningsprogram' = 'Studiespesialisering' GROUP BY d.id"""
                )
            )
            .scalars()
            .all()
        )
        kinds = dict(conn.execute(text("SELECT kind, count(*) FROM achievement GROUP BY kind")).all())
    # A realistic upper-secondary vitnemål: about twenty subjects plus orden and atferd.
    assert sizes and min(sizes) >= 20
    assert kinds["exam"] > 0 and kinds["trade_certificate"] > 0 and kinds["diploma"] > 0


def test_the_demo_is_deterministic() -> None:
    first, second = demo_set(random.Random(7)), demo_set(random.Random(7))
    assert [d.content for d in first.deliveries] == [d.content for d in second.deliveries]
