"""Who may ask what: every query × every scope, tokens as REST checks them, and the transport rules
(POST with a JSON body only; no national id in a URL; bounded bodies)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.graphql.router import MAX_BODY_BYTES
from tests.api.conftest import ADMIN, ALL_SCOPES, READ, STATS, WRITE, Token, bearer
from tests.api.graphql.conftest import audit_rows, error_codes, gql, make_learner
from tests.factories import new_nin

QUERIES = {
    "person": ("query($nin: String!) { person(nin: $nin) { id } }", {READ}),
    "organisation": (
        "query($orgnr: String!) { organisation(orgnr: $orgnr) { orgnr } }",
        {READ, STATS, WRITE, ADMIN},
    ),
    "specification": ("query($id: Int!) { specification(id: $id) { id } }", {READ, STATS, WRITE, ADMIN}),
    "stats": ("{ stats(groupBy: [SECTOR]) { sector persons suppressed } }", {STATS}),
}


@pytest.mark.parametrize("field", sorted(QUERIES))
@pytest.mark.parametrize("scope", ALL_SCOPES)
def test_each_query_for_each_scope(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine, field: str, scope: str
) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=21)
    query, allowed = QUERIES[field]
    spec_id = _a_specification_id(db)
    variables = {
        "person": {"nin": learner.nin},
        "organisation": {"orgnr": learner.orgs[0]},
        "specification": {"id": spec_id},
    }
    response = gql(client, token(orgs["portal"], scope), query, variables.get(field))
    payload = response.json()
    if scope in allowed:
        assert response.status_code == 200 and "errors" not in payload, payload
        assert payload["data"][field]
    else:
        assert response.status_code == 200
        [error] = payload["errors"]
        assert error["extensions"]["code"] == "auth.missing_scope"
        assert error["extensions"]["status"] == 403
        assert payload["data"] is None or payload["data"][field] in (None, [])
    # Only a person actually given out is audited.
    assert len(audit_rows(db)) == (1 if field == "person" and scope in allowed else 0)


def _a_specification_id(db: Engine) -> int:
    from sqlalchemy import text

    with db.connect() as conn:
        return int(conn.execute(text("SELECT min(id) FROM learning_specification")).scalar_one())


def test_a_caller_without_read_learns_nothing_about_a_person(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=22)
    query = QUERIES["person"][0]
    auth = token(orgs["analyst"], STATS, WRITE, ADMIN)
    known = gql(client, auth, query, {"nin": learner.nin})
    unknown = gql(client, auth, query, {"nin": new_nin(9999)})
    malformed = gql(client, auth, query, {"nin": "12345"})
    assert error_codes(known) == error_codes(unknown) == error_codes(malformed) == ["auth.missing_scope"]


def test_tokens_are_checked_as_rest_checks_them(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    query = "{ stats(groupBy: [SECTOR]) { sector } }"
    missing = client.post("/graphql", json={"query": query})
    assert missing.status_code == 401
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "auth.missing_token"
    assert "bearer" in missing.headers["www-authenticate"].lower()
    expired = client.post(
        "/graphql", json={"query": query}, headers=bearer(token(orgs["analyst"], STATS, exp=1))
    )
    assert (expired.status_code, expired.json()["code"]) == (401, "token.expired")
    foreign = client.post(
        "/graphql",
        json={"query": query},
        headers=bearer(token(orgs["analyst"], STATS, aud="https://elsewhere")),
    )
    assert (foreign.status_code, foreign.json()["code"]) == (401, "token.wrong_audience")
    garbage = client.post("/graphql", json={"query": query}, headers=bearer("not.a.token"))
    assert (garbage.status_code, garbage.json()["code"]) == (401, "token.malformed")


def test_get_is_not_offered_and_a_query_string_is_refused(
    client: TestClient, token: Token, portal: str, db: Engine
) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=23)
    auth = bearer(token(portal, READ))
    query = f'{{ person(nin: "{learner.nin}") {{ id }} }}'
    by_get = client.get("/graphql", params={"query": query}, headers=auth)
    assert by_get.status_code == 405
    assert by_get.headers["content-type"].startswith("application/problem+json")
    assert learner.nin not in by_get.text
    with_query_string = client.post(
        "/graphql", params={"nin": learner.nin}, json={"query": "{ __typename }"}, headers=auth
    )
    assert with_query_string.status_code == 400
    assert with_query_string.json()["code"] == "graphql.query_string"
    assert learner.nin not in with_query_string.text
    assert audit_rows(db) == []


def test_transport_errors_are_problems(client: TestClient, token: Token, portal: str) -> None:
    auth = bearer(token(portal, READ))
    not_json = client.post("/graphql", content=b"{ person }", headers={**auth, "Content-Type": "text/plain"})
    assert (not_json.status_code, not_json.json()["code"]) == (400, "graphql.bad_request")
    broken = client.post(
        "/graphql", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert (broken.status_code, broken.json()["code"]) == (400, "graphql.bad_request")
    batch = client.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}], headers=auth
    )
    assert (batch.status_code, batch.json()["code"]) == (400, "graphql.bad_request")
    huge = client.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"x": "a" * MAX_BODY_BYTES}}, headers=auth
    )
    assert (huge.status_code, huge.json()["code"]) == (413, "request.too_large")
    for response in (not_json, broken, batch, huge):
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "Traceback" not in response.text
