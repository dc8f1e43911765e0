"""Abusive documents are refused before they run: a depth bomb, an alias bomb, a cost bomb, a token
flood — no SQL statement is sent and nothing is audited. Introspection follows its setting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from register.settings import Settings
from tests.api.conftest import READ, Token
from tests.api.graphql.conftest import audit_rows, count_statements, data_of, error_codes, gql, make_learner
from tests.factories import new_nin


def _refused_before_running(
    client: TestClient, db: Engine, auth: str, query: str, variables: dict, code: str
) -> None:
    with count_statements(db) as counter:
        response = gql(client, auth, query, variables)
    assert error_codes(response) == [code], response.text
    assert response.json()["data"] is None
    assert counter.count == 0, counter.statements
    assert audit_rows(db) == []


def test_a_depth_bomb_is_refused(client: TestClient, token: Token, portal: str, db: Engine) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=41)
    inner = "id"
    for _ in range(20):
        inner = f"partOf {{ parts {{ {inner} }} }}"
    query = f"query($nin: String!) {{ person(nin: $nin) {{ achievements {{ nodes {{ {inner} }} }} }} }}"
    _refused_before_running(client, db, token(portal, READ), query, {"nin": learner.nin}, "query.too_deep")


def test_a_depth_bomb_through_fragments_is_refused(
    client: TestClient, token: Token, portal: str, db: Engine
) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=42)
    fragments = ["fragment F0 on Achievement { id }"]
    for i in range(1, 16):
        fragments.append(f"fragment F{i} on Achievement {{ parts {{ ...F{i - 1} }} }}")
    query = "query($nin: String!) { person(nin: $nin) { achievements { nodes { ...F15 } } } }\n" + "\n".join(
        fragments
    )
    _refused_before_running(client, db, token(portal, READ), query, {"nin": learner.nin}, "query.too_deep")


def test_an_alias_bomb_is_refused(client: TestClient, token: Token, portal: str, db: Engine) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=43)
    fields = " ".join(f"p{i}: person(nin: $nin) {{ id }}" for i in range(40))
    query = f"query($nin: String!) {{ {fields} }}"
    _refused_before_running(
        client, db, token(portal, READ), query, {"nin": learner.nin}, "query.too_many_aliases"
    )


def test_a_cost_bomb_is_refused_and_a_variable_page_counts_as_given(
    client: TestClient, token: Token, portal: str, db: Engine
) -> None:
    learner = make_learner(db, courses=1, organisations=1, seed=44)
    # Per alias 7 × first for the page and its organisations' codes, 2 000 for parts and their partOf.
    heavy = "nodes { id organisation { codes { value } } parts { id partOf { id } } }"
    fields = " ".join(f"a{i}: achievements(first: $first) {{ {heavy} }}" for i in range(12))
    query = f"query($nin: String!, $first: Int) {{ person(nin: $nin) {{ {fields} }} }}"
    auth = token(portal, READ)
    _refused_before_running(client, db, auth, query, {"nin": learner.nin, "first": 500}, "query.too_costly")
    # The same document with small pages is cheap enough to run.
    data = data_of(gql(client, auth, query, {"nin": learner.nin, "first": 5}))
    assert data["person"]["a0"]["nodes"][0]["parts"][0]["partOf"] is not None


def test_a_token_flood_is_refused_while_parsing(
    client: TestClient, token: Token, portal: str, db: Engine
) -> None:
    query = "{ " + " ".join("__typename" for _ in range(5000)) + " }"
    with count_statements(db) as counter:
        response = gql(client, token(portal, READ), query)
    assert error_codes(response) == ["query.too_many_tokens"]
    assert counter.count == 0


INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.fixture
def production_like(db: Engine, api_settings: Settings) -> Iterator[TestClient]:
    settings = api_settings.model_copy(update={"graphql_introspection": False})
    app: FastAPI = create_app(settings, engine=db)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_introspection_follows_its_setting(
    client: TestClient, production_like: TestClient, token: Token, portal: str
) -> None:
    auth = token(portal, READ)
    assert data_of(gql(client, auth, INTROSPECTION)) == {"__schema": {"queryType": {"name": "Query"}}}
    refused = gql(production_like, auth, INTROSPECTION)
    assert error_codes(refused) == ["query.introspection_disabled"]
    by_type = gql(production_like, auth, '{ __type(name: "Person") { fields { name } } }')
    assert error_codes(by_type) == ["query.introspection_disabled"]
    # __typename is not introspection of the schema and stays allowed.
    assert data_of(gql(production_like, auth, "{ __typename }")) == {"__typename": "Query"}


def test_introspection_defaults_to_off_in_production() -> None:
    base = {
        "database_url": "postgresql://localhost/x",
        "jwt_issuers": ["i"],
        "jwks_files": ["/dev/null"],
        "allow_synthetic_ids": False,
    }
    assert Settings(environment="production", **base).graphql_introspection_enabled is False
    assert Settings(environment="development").graphql_introspection_enabled is True
    assert Settings(
        environment="production", graphql_introspection=True, **base
    ).graphql_introspection_enabled


# Near misses of a field, an argument, a type and an enum value, each of which graphql-core answers with
# the schema's names ("Did you mean 'name'?") — a way to read the schema with introspection off.
NEAR_MISSES = [
    ("query($nin: String!) { person(nin: $nin) { nme { given } } }", "name"),
    ("query($nin: String!) { person(nin: $nin) { achievements(frist: 1) { totalCount } } }", "first"),
    ("query($nin: String!) { person(nin: $nin) { ... on Persn { id } } }", "Person"),
    ("query($nin: String!) { person(nin: $nin) { achievements(sector: [HIGHR]) { totalCount } } }", "HIGHER"),
    (
        "query($nin: String!, $s: [Sector!]) { person(nin: $nin) { achievements(sector: $s) { totalCount } } }",
        "HIGHER",
    ),
]


@pytest.mark.parametrize(("query", "suggested"), NEAR_MISSES)
def test_with_introspection_off_errors_suggest_no_names(
    client: TestClient, production_like: TestClient, token: Token, portal: str, query: str, suggested: str
) -> None:
    auth = token(portal, READ)
    variables = {"nin": new_nin(71), "s": ["HIGHR"]}
    # In development the suggestion helps; the test shows the near miss really is one.
    helped = gql(client, auth, query, variables).json()["errors"]
    assert any("Did you mean" in e["message"] and suggested in e["message"] for e in helped), helped
    refused = gql(production_like, auth, query, variables).json()
    assert refused["errors"], refused
    for error in refused["errors"]:
        assert "Did you mean" not in error["message"] and suggested not in error["message"], error
        assert error["extensions"]["code"] == "graphql.invalid"
