"""The benchmark's cold ceiling: the same COPY as the ceiling, with the server made cold between the
export of the rows and their COPY, and nothing left of it; and the memory benchmark counts the worker
processes of the import it measures."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from benchmarks import run as bench
from benchmarks.importfile import ChildrenPeak
from benchmarks.population import Population
from register import embedded
from register.settings import Settings

pytestmark = pytest.mark.bench


def test_the_cold_ceiling_restarts_the_server_between_the_export_and_the_copy(
    db: Engine, settings: Settings, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    population = Population(40, seed=3)
    bench.register_organisations(db, population)
    files, _ = population.write_deliveries(tmp_path)
    delivery = next(f for f in files if f.kind == "primary-csv")
    imported = bench.import_file(db, settings, delivery)
    assert imported["status"] == "completed" and imported["accepted"] > 0

    happened: list[str] = []
    copy = psycopg.Cursor.copy

    def traced_copy(cur: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        happened.append(
            str(statement).split(" (", 1)[0] + (" TO" if "TO STDOUT" in str(statement) else " FROM")
        )
        return copy(cur, statement, *args, **kwargs)

    def restart(server_dir: Path) -> None:
        # None of the ceiling's connections is open across it. Client backends only: the server's own
        # workers (an autovacuum of the rows just imported) may be busy in the database at any time.
        with psycopg.connect(database_url) as conn:
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend' AND state <> 'idle'"
            ).fetchone()
        happened.append(f"restart {server_dir.name}, {others[0] if others else '?'} busy")

    monkeypatch.setattr(psycopg.Cursor, "copy", traced_copy)
    monkeypatch.setattr(embedded, "restart", restart)
    with db.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM achievement")).scalar_one()
    cold = bench.cold_ceiling(database_url, imported["batch_id"], tmp_path / "server", drop_page_cache=False)
    assert happened == ["COPY TO", "restart server, 0 busy", "COPY achievement FROM"]
    assert cold["copy_rows"] == imported["accepted"] and cold["copy_seconds"] > 0
    assert cold["page_cache_dropped"] is False
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar_one() == before  # rolled back


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads Linux's /proc")
def test_the_memory_of_the_imports_worker_processes_is_counted() -> None:
    peak = ChildrenPeak(interval=0.01)
    peak.start()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; held = bytearray(80 * 2**20); held[::4096] = b'1' * 20480; time.sleep(0.5)",
        ]
    )
    child.wait()
    time.sleep(0.05)
    assert peak.stop() >= 80
    assert peak.peaks[child.pid] >= 80  # the child's own (other children of the test run may be counted too)
