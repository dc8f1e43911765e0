"""Running Alembic from the register itself (``register db upgrade``, ``make run``, readiness)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from register.database import libpq_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["url"] = url or libpq_url()
    return cfg


def upgrade(revision: str = "heads", url: str | None = None) -> None:
    command.upgrade(alembic_config(url), revision)


def at_head(conn: Connection) -> bool:
    """True if the database has every migration the code knows (for /health/ready)."""
    script = ScriptDirectory.from_config(alembic_config(url="unused"))
    current = set(MigrationContext.configure(conn).get_current_heads())
    return current == set(script.get_heads())
