"""Liveness and readiness."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from api.app import create_app
from register.settings import Settings
from tests.api.conftest import READ, Token, bearer
from tests.factories import new_nin


def test_live_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ready"}


def test_not_ready_without_a_database(api_settings: Settings, token: Token) -> None:
    # A port nothing listens on: the readiness probe answers 503 instead of hanging or crashing.
    gone = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    with TestClient(create_app(api_settings, engine=gone)) as client:
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["code"] == "health.database_unreachable"
        assert client.get("/health").status_code == 200
        # Any request that needs the database is a 503 the client may retry, not an internal error.
        lookup = client.post(
            "/v1/persons/lookup", json={"nin": new_nin(1)}, headers=bearer(token("910000004", READ))
        )
        assert (lookup.status_code, lookup.json()["code"]) == (503, "database.unavailable")
        assert lookup.headers["retry-after"] == "5"


def test_not_ready_when_migrations_are_missing(client: TestClient, db: Engine) -> None:
    with db.begin() as conn:
        head = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    try:
        response = client.get("/health/ready")
        assert (response.status_code, response.json()["code"]) == (503, "health.migrations_pending")
    finally:
        with db.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


def test_openapi_document_and_docs_page(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    lookup = document["paths"]["/v1/persons/lookup"]["post"]
    assert lookup["security"] == [{"maskinporten": ["kompetanse:read"]}, {"bearer": ["kompetanse:read"]}]
    problem = lookup["responses"]["404"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    # No operation takes a national id in its path or query string.
    for path, operations in document["paths"].items():
        for operation in operations.values():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert not names & {"nin", "fnr", "fodselsnummer"}, path
