"""The statistics refresh outside the import's transaction: pending persons, refreshes, the version.

The arithmetic of the refresh (incremental = rebuild) is proved in tests/api/test_stats.py; these tests
prove the hand-over: what an import leaves pending, who counts it and when, and that nothing is lost.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from intake.batches import BatchReport, run_import
from register import stats
from register.locks import LockKey
from register.settings import Settings
from tests.factories import create_organisation, new_nin
from tests.foundation.recordlines import lines

pytestmark = pytest.mark.usefixtures("record_lines")


@pytest.fixture
def school(db: Engine) -> str:
    return create_organisation(db, name="Sørby videregående skole")


@pytest.fixture
def background(settings: Settings) -> Settings:
    return settings.model_copy(update={"stats_refresh": "background", "stats_refresh_seconds": 0.05})


def deliver(engine: Engine, settings: Settings, school: str, *nins: str, key: str = "s") -> BatchReport:
    records: list[dict[str, Any]] = [
        {"nin": nin, "key": f"{key}-{i}", "org": school} for i, nin in enumerate(nins)
    ]
    report = run_import(
        engine, io.BytesIO(lines(*records)), sector="primary", provider_orgnr=school, settings=settings
    )
    assert report.status == "completed"
    return report


def national(engine: Engine) -> tuple[int, int] | None:
    """(achievements, persons) of the national total, or None before anything is counted."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT achievements, persons FROM stats_cell WHERE rolled = 127")
        ).one_or_none()
    return None if row is None else (row.achievements, row.persons)


def pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return stats.pending_persons(conn)


def refreshes(engine: Engine) -> int:
    """How many refreshes changed the roll-ups (the count part of the statistics version)."""
    with engine.connect() as conn:
        return int(stats.statistics_version(conn).partition("@")[0])


def test_by_default_an_import_is_counted_when_it_returns(db: Engine, settings: Settings, school: str) -> None:
    deliver(db, settings, school, new_nin(), new_nin())
    assert national(db) == (2, 2)
    assert pending(db) == 0
    assert refreshes(db) == 1


def test_in_background_mode_imports_only_mark_their_persons(
    db: Engine, background: Settings, school: str
) -> None:
    shared = new_nin()
    deliver(db, background, school, shared, new_nin(), key="a")
    deliver(db, background, school, shared, new_nin(), key="b")
    assert national(db) is None  # nothing counted yet
    assert pending(db) == 3  # the person in both batches is pending once

    report = stats.refresh_pending(db)
    assert (report.persons, report.rounds, report.skipped) == (3, 1, False)
    assert national(db) == (4, 3)
    assert pending(db) == 0
    assert refreshes(db) == 1
    assert stats.refresh_pending(db) == stats.RefreshReport(0, 0)  # nothing pending: nothing done
    assert refreshes(db) == 1  # and the version (the cache key) did not move


def test_a_refresh_goes_in_rounds_and_agrees_with_a_rebuild(
    db: Engine, background: Settings, school: str
) -> None:
    deliver(db, background, school, *(new_nin() for _ in range(7)))
    report = stats.refresh_pending(db, round_persons=3)
    assert (report.persons, report.rounds) == (7, 3)
    with db.connect() as conn:
        incremental = set(conn.execute(text("SELECT * FROM stats_cell")).all())
    with db.begin() as conn:
        stats.rebuild(conn)
    with db.connect() as conn:
        rebuilt = set(conn.execute(text("SELECT * FROM stats_cell")).all())
    strip = lambda rows: {row[1:] for row in rows}  # noqa: E731 - ids differ, cells must not
    assert strip(incremental) == strip(rebuilt)


def test_a_failed_refresh_leaves_its_persons_pending(db: Engine, background: Settings, school: str) -> None:
    deliver(db, background, school, new_nin(), new_nin())
    with db.connect() as conn, conn.begin() as transaction:
        assert stats.refresh_round(conn) == 2
        transaction.rollback()  # what a failure half-way does
    assert pending(db) == 2
    assert national(db) is None
    assert stats.refresh_pending(db).persons == 2
    assert national(db) == (2, 2)


def test_a_failed_refresh_after_an_import_does_not_fail_the_import(
    db: Engine, settings: Settings, school: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> stats.RefreshReport:
        raise RuntimeError("the refresh failed")

    monkeypatch.setattr(stats, "refresh_pending", broken)
    report = deliver(db, settings, school, new_nin())
    assert report.accepted == 1
    assert pending(db) == 1  # counted by the next refresh
    monkeypatch.undo()
    stats.refresh_pending(db)
    assert national(db) == (1, 1)


def test_a_timer_refresh_skips_while_another_refresh_runs(
    db: Engine, background: Settings, school: str
) -> None:
    deliver(db, background, school, new_nin())
    with db.connect() as holder, holder.begin():
        # a refresh in progress elsewhere
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LockKey.STATS_REFRESH})
        assert stats.refresh_pending(db, wait=False).skipped
        assert pending(db) == 1
    assert stats.refresh_pending(db, wait=False).persons == 1


def test_an_import_waits_for_a_running_refresh_and_is_then_counted(
    db: Engine, settings: Settings, school: str
) -> None:
    released = threading.Event()

    def hold_the_lock() -> None:
        with db.connect() as holder, holder.begin():
            holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LockKey.STATS_REFRESH})
            released.wait(10)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        time.sleep(0.2)
        threading.Timer(0.3, released.set).start()
        deliver(db, settings, school, new_nin())
    finally:
        released.set()
        holder.join()
    assert national(db) == (1, 1)


def test_the_server_counts_background_imports_on_its_timer(
    db: Engine, background: Settings, school: str
) -> None:
    with TestClient(create_app(background, engine=db)):
        deliver(db, background, school, new_nin(), new_nin())
        deadline = time.monotonic() + 20
        while pending(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending(db) == 0
        assert national(db) == (2, 2)
    # the timer stops with the app: a later import stays pending
    deliver(db, background, school, new_nin(), key="later")
    time.sleep(0.3)
    assert pending(db) == 1
