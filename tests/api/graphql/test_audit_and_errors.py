"""Audit exactly once per person per request, with what was given out; expected failures with REST's
codes; unexpected ones without a trace; the national id in no log line and no audit row."""

from __future__ import annotations

import logging
import socket
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.graphql import queries
from register.audit import verify_chain
from register.database import make_engine
from register.settings import Settings
from tests.api.conftest import READ, Token, bearer
from tests.api.graphql.conftest import audit_rows, data_of, error_codes, gql, make_learner
from tests.factories import new_nin

TWICE = """query($a: String!, $b: String!) {
  first: person(nin: $a) { name { given } achievements(first: 1) { edges { node { id parts { id } } } } }
  again: person(nin: $a) { identifiers { value } achievements(kind: [COURSE_RESULT]) { nodes { id } } }
  other: person(nin: $b) { id }
}"""


def test_one_audit_row_per_person_per_request_with_what_was_given(
    client: TestClient, token: Token, portal: str, db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    learner = make_learner(db, courses=4, organisations=2, seed=51)
    other = make_learner(db, courses=1, organisations=1, seed=52, given="Ola")
    response = gql(
        client,
        token(portal, READ),
        TWICE,
        {"a": learner.nin, "b": other.nin},
    )
    data = data_of(response)
    given_first = data["first"]["achievements"]["edges"][0]["node"]
    rows = audit_rows(db)
    assert sorted(r.person_id for r in rows) == sorted([learner.person_id, other.person_id])
    by_person = {r.person_id: r for r in rows}
    mine = by_person[learner.person_id]
    assert (mine.action, mine.organisation, mine.scope) == ("graphql.person", portal, READ)
    assert mine.request_id == response.headers["x-request-id"]
    # the first page's degree, its two courses, and the four courses listed by kind
    expected = {
        given_first["id"],
        *(p["id"] for p in given_first["parts"]),
        *(str(c) for c in learner.courses),
    }
    assert set(mine.details["achievement_ids"]) == expected
    assert mine.details["count"] == len(expected) == 5
    assert mine.details["endpoint"] == "POST /graphql"
    assert by_person[other.person_id].details["achievement_ids"] == []  # only the id was asked for
    with db.connect() as conn:
        assert verify_chain(conn).ok
    for row in rows:
        assert learner.nin not in str(row.details) and other.nin not in str(row.details)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert learner.nin not in logged and other.nin not in logged


def test_a_person_not_found_is_audited_without_the_number_and_the_codes_of_rest(
    client: TestClient, token: Token, portal: str, db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    auth = token(portal, READ)
    query = "query($nin: String!) { person(nin: $nin) { id } }"
    cases = [
        new_nin(777),
        "12345678901",
        "ikke-et-nummer",
        "0" * 11,
    ]  # malformed: letters no UUID or hex id in the log can hold by chance ("abc" once did)
    for nin in cases:
        graph = gql(client, auth, query, {"nin": nin})
        rest = client.post("/v1/persons/lookup", json={"nin": nin}, headers=bearer(auth))
        [error] = graph.json()["errors"]
        assert error["extensions"]["code"] == rest.json()["code"], nin
        assert error["extensions"]["status"] == rest.status_code
        assert error["path"] == ["person"] and graph.json()["data"] == {"person": None}
        assert nin not in graph.text
    # The well-formed unknown number is a probe: audited (no person, no number) by both; the malformed
    # ones say nothing about the register and leave no row.
    rows = audit_rows(db)
    assert [(r.person_id, r.action, r.details["outcome"]) for r in rows] == [
        (None, "graphql.person", "not_found"),
        (None, "persons.lookup", "not_found"),
    ]
    assert all(nin not in str(row) for row in rows for nin in cases)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for nin in cases:
        assert nin not in logged


def test_a_nin_written_into_the_document_is_neither_echoed_nor_logged(
    client: TestClient, token: Token, portal: str, db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    learner = make_learner(db, courses=1, organisations=1, seed=53)
    auth = token(portal, READ)
    inline = data_of(gql(client, auth, f'{{ person(nin: "{learner.nin}") {{ id }} }}'))
    assert inline["person"]["id"] == str(learner.person_id)
    # The number as an Int literal is a schema error whose standard message would quote it.
    wrong_type = gql(client, auth, f"{{ person(nin: {learner.nin}) {{ id }} }}")
    assert error_codes(wrong_type) == ["graphql.invalid"]
    assert learner.nin not in wrong_type.text
    wrong_variable = gql(
        client, auth, "query($nin: String!) { person(nin: $nin) { id } }", {"nin": int(learner.nin)}
    )
    assert error_codes(wrong_variable) == ["graphql.invalid"]
    assert learner.nin not in wrong_variable.text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert learner.nin not in logged


def test_an_unexpected_error_has_a_code_and_no_trace(
    client: TestClient,
    token: Token,
    portal: str,
    db: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=54)

    def broken(conn: object, ids: list[uuid.UUID]) -> dict:
        raise RuntimeError(f"driver says: value {learner.nin} at line 3")

    monkeypatch.setattr(queries, "identifiers_by_person", broken)
    response = gql(
        client,
        token(portal, READ),
        "query($nin: String!) { person(nin: $nin) { id identifiers { value } } }",
        {"nin": learner.nin},
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "internal.error" and error["extensions"]["status"] == 500
    assert error["extensions"]["request_id"] == response.headers["x-request-id"]
    for text in (response.text, "\n".join(r.getMessage() for r in caplog.records)):
        assert "Traceback" not in text and "driver says" not in text and learner.nin not in text
    assert any("RuntimeError" in r.getMessage() for r in caplog.records)
    # The person was resolved (id given out) before identifiers failed: that read is audited.
    assert [r.person_id for r in audit_rows(db)] == [learner.person_id]


def test_no_person_data_when_the_audit_row_cannot_be_written(
    client: TestClient, token: Token, portal: str, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from register import audit

    learner = make_learner(db, courses=1, organisations=1, seed=55)

    def refuse(*args: object, **kwargs: object) -> int:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(audit, "record_read", refuse)
    response = gql(
        client,
        token(portal, READ),
        "query($nin: String!) { person(nin: $nin) { id name { given } } }",
        {"nin": learner.nin},
    )
    payload = response.json()
    assert payload["data"] is None
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["internal.error"]
    assert "Kari" not in response.text and str(learner.person_id) not in response.text


def test_a_database_that_cannot_be_reached_is_database_unavailable(
    api_settings: Settings, token: Token, portal: str
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = make_engine(f"postgresql://nobody@127.0.0.1:{port}/register", pool_size=1)
    app = create_app(api_settings, engine=dead)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = gql(
            client,
            token(portal, READ),
            "query($nin: String!) { person(nin: $nin) { id } }",
            {"nin": new_nin(5)},
        )
    [error] = response.json()["errors"]
    assert (error["extensions"]["code"], error["extensions"]["status"]) == ("database.unavailable", 503)
    assert "127.0.0.1" not in response.text and "Traceback" not in response.text
    dead.dispose()
