"""Test fixtures: a real PostgreSQL with the schema made by Alembic, never a mock.

Where the server comes from:
- ``REGISTER_TEST_DATABASE_URL``: a server you run (a fresh database is created on it per session);
- ``REGISTER_TEST_POSTGRES=docker``: testcontainers' PostgreSQL (machines with a Docker engine);
- otherwise the embedded PostgreSQL, data under ``.register/test`` in the project.

Each test session gets its own database, so test runs side by side do not meet. Imports own their
transactions (a delivery commits twice, on purpose), so tests that write get a clean database by
truncation after the test instead of a rolled-back transaction.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, text

from register import embedded
from register.database import make_engine, to_libpq
from register.schema import alembic_config
from register.settings import Settings, get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FORMATS_DIR = PROJECT_ROOT.parent / "shared" / "formats"


def _admin_url() -> tuple[str, object | None]:
    given = os.environ.get("REGISTER_TEST_DATABASE_URL")
    if given:
        return to_libpq(given), None
    if os.environ.get("REGISTER_TEST_POSTGRES") == "docker":
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:17", driver=None)
        container.start()
        return to_libpq(container.get_connection_url()), container
    return embedded.start(PROJECT_ROOT / ".register" / "test"), None


@pytest.fixture(scope="session")
def server_admin_url() -> Iterator[str]:
    admin, container = _admin_url()
    yield admin
    if container is not None:
        container.stop()  # type: ignore[attr-defined]


def create_database(admin: str, prefix: str = "register_test") -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return embedded.database_url(admin, name)


def drop_database(admin: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def database_url(server_admin_url: str) -> Iterator[str]:
    """A database for this test session, migrated to head by Alembic."""
    from alembic import command

    url = create_database(server_admin_url)
    command.upgrade(alembic_config(url), "heads")
    previous = os.environ.get("REGISTER_DATABASE_URL")
    os.environ["REGISTER_DATABASE_URL"] = url
    os.environ.setdefault("REGISTER_ALLOW_SYNTHETIC_IDS", "true")
    get_settings.cache_clear()
    yield url
    if previous is None:
        os.environ.pop("REGISTER_DATABASE_URL", None)
    else:
        os.environ["REGISTER_DATABASE_URL"] = previous
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
    if not FORMATS_DIR.is_dir():
        pytest.fail(f"the shared formats are expected beside the project, at {FORMATS_DIR}")
    return FORMATS_DIR
