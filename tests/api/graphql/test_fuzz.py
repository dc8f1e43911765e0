"""Queries generated from the schema (hypothesis-graphql), valid and invalid: never a 5xx, never an
``internal.error``, every error with a code — bounded, derandomized, part of the ordinary run."""

from __future__ import annotations

from typing import Any

import hypothesis_graphql
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from sqlalchemy import Engine

from api.graphql.schema import build_schema
from register.settings import Settings as RegisterSettings
from tests.api.conftest import ALL_SCOPES, Token, bearer
from tests.api.graphql.conftest import make_learner

EXAMPLES = 60
SCHEMA = build_schema(RegisterSettings(database_url="postgresql://localhost/x")).as_str()


def _check(client: TestClient, auth: dict[str, str], query: Any) -> None:
    response = client.post("/graphql", json={"query": query}, headers=auth)
    assert response.status_code < 500, response.text
    if response.status_code != 200:  # refused before GraphQL: problem+json with a code
        assert response.json()["code"], response.text
        return
    for error in response.json().get("errors", []):
        code = error["extensions"]["code"]
        assert code != "internal.error", (query, error)
        assert "Traceback" not in error["message"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [hypothesis_graphql.Mode.POSITIVE, hypothesis_graphql.Mode.NEGATIVE])
def test_generated_queries_never_fail_unexpectedly(
    client: TestClient, token: Token, portal: str, db: Engine, mode: Any
) -> None:
    make_learner(db, courses=3, organisations=2, seed=71)
    auth = bearer(token(portal, *ALL_SCOPES))
    strategy = hypothesis_graphql.queries(
        SCHEMA,
        mode=mode,
        custom_scalars={"UUID": st.uuids().map(nodes.String), "Date": st.dates().map(nodes.String)},
    )

    @given(query=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(query: Any) -> None:
        _check(client, auth, query)

    exercise()
