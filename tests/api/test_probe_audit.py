"""Existence probes leave a trace (issue 14, item 7): a read-scope client learns from 200 or 404 whether a
number is in the register, so every look-up is audited, found or not — REST's look-up (one statement
finds the person and the data), the ELMO export and GraphQL's ``person``. A row for an unknown number
names no person and holds no trace of the number; the chain it goes to still verifies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from register import audit
from tests.api.conftest import READ, Token, bearer
from tests.api.graphql.conftest import gql, make_learner
from tests.factories import new_nin

PERSON = "query($nin: String!) { person(nin: $nin) { id } }"


def _rows(db: Engine) -> list[Any]:
    with db.connect() as conn:
        return conn.execute(
            text(
                """SELECT chain, person_id, action, client_id, organisation, scope, request_id, details
                   FROM audit_event ORDER BY id"""
            )
        ).all()


def _probe(client: TestClient, auth: str, how: str, nin: str) -> int:
    if how == "graphql":
        response = gql(client, auth, PERSON, {"nin": nin})
        errors = response.json().get("errors", [])
        return 404 if [e["extensions"]["code"] for e in errors] == ["person.not_found"] else 200
    path = "/v1/persons/lookup" if how == "lookup" else "/v1/persons/elmo"
    return client.post(path, json={"nin": nin}, headers=bearer(auth)).status_code


ACTIONS = {"lookup": "persons.lookup", "elmo": "persons.elmo", "graphql": "graphql.person"}


@pytest.mark.parametrize("how", ["lookup", "elmo", "graphql"])
def test_a_probe_for_an_unknown_number_is_audited_without_the_number(
    client: TestClient, token: Token, db: Engine, orgs: dict[str, str], how: str
) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=81)
    known, unknown, person = learner.nin, new_nin(82), learner.person_id
    auth = token(orgs["portal"], READ)

    assert _probe(client, auth, how, known) == 200
    assert _probe(client, auth, how, unknown) == 404

    found, probed = _rows(db)
    assert found.person_id == person and found.action == ACTIONS[how]
    assert probed.person_id is None and probed.chain == 0
    assert probed.action == ACTIONS[how]
    assert probed.details["outcome"] == audit.NOT_FOUND
    assert probed.organisation == orgs["portal"] and probed.client_id == f"client-{orgs['portal']}"
    assert probed.scope == READ and probed.request_id not in (None, found.request_id)
    # Neither number in any form: not the digits, not a part of them.
    stored = json.dumps([list(map(str, row)) for row in (found, probed)])
    for nin in (known, unknown):
        assert nin not in stored and nin[:6] not in stored and nin[6:] not in stored
    with db.connect() as conn:
        assert audit.verify_chain(conn).ok


def test_a_malformed_number_is_not_a_probe(
    client: TestClient, token: Token, db: Engine, orgs: dict[str, str]
) -> None:
    # A number that fails its check digits says nothing about the register: 422, and no row.
    bad = new_nin(83)[:-1] + str((int(new_nin(83)[-1]) + 1) % 10)
    response = client.post(
        "/v1/persons/lookup", json={"nin": bad}, headers=bearer(token(orgs["portal"], READ))
    )
    assert response.status_code == 422
    assert _rows(db) == []


def test_every_probe_of_a_flood_is_audited(
    client: TestClient, token: Token, db: Engine, orgs: dict[str, str]
) -> None:
    auth = token(orgs["portal"], READ)
    numbers = [new_nin(900 + i) for i in range(20)]
    assert {_probe(client, auth, "lookup", nin) for nin in numbers} == {404}
    rows = _rows(db)
    assert len(rows) == 20 and {r.details["outcome"] for r in rows} == {audit.NOT_FOUND}
