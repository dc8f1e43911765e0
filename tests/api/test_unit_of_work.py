"""The unit of work (api/deps.py) commits when the handler returns, before the response is sent."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.deps import UnitOfWork
from api.errors import install_error_handlers


def test_a_write_that_fails_to_commit_is_never_answered_as_done(db: Engine) -> None:
    # A constraint checked only at commit: if the unit of work committed after the response was sent
    # (FastAPI's default for dependencies with yield), the client would hear 200 for nothing stored.
    table = f"uow_{uuid.uuid4().hex[:8]}"
    with db.begin() as conn:
        conn.execute(
            text(f"CREATE TABLE {table} (v int, CONSTRAINT one UNIQUE (v) DEFERRABLE INITIALLY DEFERRED)")
        )
    app = FastAPI()
    app.state.engine = db
    install_error_handlers(app)

    @app.post("/write")
    def write(conn: UnitOfWork) -> dict[str, str]:
        conn.execute(text(f"INSERT INTO {table} VALUES (1), (1)"))
        return {"status": "done"}

    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.post("/write")
        assert response.status_code >= 500, response.text
        with db.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
    finally:
        with db.begin() as conn:
            conn.execute(text(f"DROP TABLE {table}"))
