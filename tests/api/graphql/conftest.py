"""GraphQL over HTTP on the real test database: a query helper, a statement counter, and people with
known achievements (written as the ingest leaves them, see tests/api/rows.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text

from tests.api.conftest import bearer
from tests.api.rows import Spec, add_achievement, finish_batch, new_batch, new_person
from tests.factories import create_organisation, new_nin


def gql(
    client: TestClient, auth: str | None, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    """POST a GraphQL request the way a client must: a JSON body, the token in the header."""
    headers = bearer(auth) if auth else {}
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return client.post("/graphql", json=body, headers=headers)


def data_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    payload = response.json()
    assert "errors" not in payload, payload
    return payload["data"]


def error_codes(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


@dataclass
class StatementCounter:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_statements(engine: Engine) -> Iterator[StatementCounter]:
    """Every SQL statement sent on ``engine`` while the block runs (a SQLAlchemy event listener)."""
    counter = StatementCounter()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        counter.statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


@dataclass
class Learner:
    nin: str
    person_id: uuid.UUID
    orgs: list[str]
    degrees: list[uuid.UUID]
    courses: list[uuid.UUID]


def make_learner(
    db: Engine, *, courses: int, organisations: int, seed: int, failed_every: int = 0, given: str = "Kari"
) -> Learner:
    """A person with one degree per organisation and ``courses`` course results spread over the degrees.

    With ``failed_every`` = n, every n-th course is an F (not passed).
    """
    orgs = [
        create_organisation(db, name=f"Universitet {seed}-{i}", kind="university")
        for i in range(organisations)
    ]
    nin = new_nin(seed)
    degrees: list[uuid.UUID] = []
    course_ids: list[uuid.UUID] = []
    with db.begin() as conn:
        person = new_person(conn, nin, given=given)
        batches = {org: new_batch(conn, org) for org in orgs}
        for i, org in enumerate(orgs):
            degrees.append(
                add_achievement(
                    conn,
                    person_id=person,
                    batch_id=batches[org],
                    provider_orgnr=org,
                    spec=Spec(f"BACH{seed}-{i}", kind="qualification", nkr_level="6"),
                    kind="degree",
                    grade=None,
                    credits=Decimal("180"),
                    year=2020 + i % 5,
                )
            )
        for c in range(courses):
            org_index = c % organisations
            failed = failed_every and c % failed_every == failed_every - 1
            course_ids.append(
                add_achievement(
                    conn,
                    person_id=person,
                    batch_id=batches[orgs[org_index]],
                    provider_orgnr=orgs[org_index],
                    spec=Spec(f"EMNE{seed}-{c:04d}", credits=Decimal("10"), credit_scheme="ects"),
                    grade=("a-f", "F", False) if failed else ("a-f", "B", True),
                    part_of=degrees[org_index],
                    year=2020 + c % 5,
                )
            )
        for batch in batches.values():
            finish_batch(conn, batch)
    return Learner(nin, person, orgs, degrees, course_ids)


def audit_rows(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return conn.execute(
            text(
                "SELECT person_id, action, organisation, scope, request_id, details FROM audit_event ORDER BY id"
            )
        ).all()


@pytest.fixture
def portal(orgs: dict[str, str]) -> str:
    return orgs["portal"]
