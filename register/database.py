"""Connections: one engine per process, URLs for SQLAlchemy and for psql, the unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from register import datadir, embedded
from register.settings import Settings, get_settings

EMBEDDED_DATABASE = "register"


def libpq_url(settings: Settings | None = None) -> str:
    """The database URL in libpq form (``postgresql://…``), starting the embedded server if needed."""
    settings = settings or get_settings()
    if settings.database_url:
        return to_libpq(settings.database_url)
    datadir.require(settings, database=True)  # never a new empty register in whatever folder this runs
    admin = embedded.start(settings.data_dir)
    _ensure_database(admin, EMBEDDED_DATABASE)
    return embedded.database_url(admin, EMBEDDED_DATABASE)


def to_libpq(url: str) -> str:
    for driver in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(driver):
            return "postgresql://" + url[len(driver) :]
    return url


def to_sqlalchemy(url: str) -> str:
    return "postgresql+psycopg://" + to_libpq(url)[len("postgresql://") :]


def _ensure_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    return create_engine(
        to_sqlalchemy(url),
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=5,
        # Statement parameters carry national ids: never let an error message or log line quote them.
        hide_parameters=True,
        # A look-up must fail fast when the database is gone, not hang the request.
        connect_args={"connect_timeout": 5, "application_name": "kompetanseregisteret"},
    )


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(libpq_url(settings), pool_size=settings.db_pool_size)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction owned by the caller at the edge (a request, a CLI command, an import job)."""
    factory = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session
