"""`make test` stops the embedded PostgreSQL it started, and only that one.

A small pytest session runs in a subprocess against its own embedded server (REGISTER_TEST_DATA_DIR in
a temporary folder), so the server of the session running these tests is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from register import embedded
from tests.conftest import PROJECT_ROOT, drop_database, other_live_sessions, stops_at_end

pytestmark = pytest.mark.slow

# The server alone (no database, no migration): what is started and stopped is all this test looks at.
INNER_TEST = """
def test_a_server(server_admin_url):
    assert server_admin_url
"""


@pytest.mark.parametrize(
    ("was_running", "keep", "other_sessions", "stops"),
    [
        (False, False, False, True),  # ours, not kept, nobody else on it
        (True, False, False, False),  # running before the session: not ours
        (False, True, False, False),  # REGISTER_KEEP_TEST_DB=1
        (False, False, True, False),  # another live session still has its database on it
    ],
)
def test_the_session_stops_only_a_server_it_started(
    was_running: bool, keep: bool, other_sessions: bool, stops: bool
) -> None:
    assert stops_at_end(was_running=was_running, keep=keep, other_sessions=other_sessions) is stops


def _session(data_dir: Path, tests: Path, **env: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGISTER_")}
    environ |= {"REGISTER_TEST_DATA_DIR": str(data_dir), **env}
    # -p tests.conftest: the project's fixtures for a test file outside the project
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "--rootdir", str(tests), str(tests / "test_inner.py")],
        cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_a_test_session_leaves_no_server_running_unless_asked(tmp_path: Path, server_folder: Path) -> None:
    data_dir, tests = server_folder, tmp_path / "tests"
    tests.mkdir()
    (tests / "test_inner.py").write_text(INNER_TEST)
    try:
        _session(data_dir, tests)
        assert not embedded.is_running(data_dir)  # started by the session, stopped by it

        _session(data_dir, tests, REGISTER_KEEP_TEST_DB="1")
        assert embedded.is_running(data_dir)  # kept when asked

        _session(data_dir, tests)
        assert embedded.is_running(data_dir)  # running before the session: not the session's to stop
    finally:
        embedded.stop(data_dir)


def test_a_database_of_another_live_session_keeps_the_server(server_admin_url: str) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(finished.stdout)
    before = other_live_sessions(server_admin_url)
    dead = create_database_named(server_admin_url, f"register_test_{dead_pid}_abcdef")
    try:
        assert other_live_sessions(server_admin_url) is before  # a crashed session's leftover counts not
        live = create_database_named(server_admin_url, f"register_test_{os.getppid()}_abcdef")
        try:
            assert other_live_sessions(server_admin_url) is True
        finally:
            drop_database(server_admin_url, live)
    finally:
        drop_database(server_admin_url, dead)


def create_database_named(admin: str, name: str) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return embedded.database_url(admin, name)
