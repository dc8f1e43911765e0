"""The fast path of api/graphql/execution.py answers exactly as graphql-core's own executor: the same
data, the same errors at the same paths, the same audit — for plain selections, resolvers, fragments,
directives, aliases and a null where the schema forbids one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Engine

from api.auth import Principal
from api.graphql import types
from api.graphql.context import GraphContext
from api.graphql.schema import build_schema
from register.settings import Settings
from tests.api.graphql.conftest import make_learner

A = "id kind year grade { asDelivered passed } credits { value scheme } level { nkr eqf }"
QUERIES = [
    # plain all the way down (one projector)
    f"query($nin: String!) {{ person(nin: $nin) {{ achievements {{ edges {{ cursor node {{ {A} parts {{ {A} }} }} }} }} }} }}",
    # resolvers inside plain objects (organisation codes, partOf), aliases and __typename
    f"""query($nin: String!) {{ person(nin: $nin) {{ name {{ given }} identifiers {{ kind }}
        all: achievements {{ totalCount nodes {{ __typename {A} organisation {{ name codes {{ scheme }} }}
                                      parts {{ id partOf {{ id organisation {{ orgnr }} }} }} }} }}
        some: achievements(kind: [COURSE_RESULT], first: 2) {{ pageInfo {{ hasNextPage }} nodes {{ id partOf {{ kind }} }} }} }} }}""",
    # fragments, inline fragments and directives
    """fragment G on Grade { asDelivered }
       query($nin: String!, $yes: Boolean!) { person(nin: $nin) { achievements { nodes {
         ... on Achievement { id grade @include(if: $yes) { ...G } credits @skip(if: $yes) { value } }
         specification { title { nb } learningOutcomes description { en } } } } } }""",
]

PRINCIPAL = Principal("client", "974760673", frozenset({"kompetanse:read"}), "issuer", None)


def _execute(schema: Any, settings: Settings, engine: Engine, query: str, variables: dict) -> tuple[Any, Any]:
    async def go() -> tuple[Any, Any]:
        context = GraphContext(settings=settings, engine=engine, principal=PRINCIPAL, request_id="r")
        try:
            result = await schema.execute(query, variable_values=variables, context_value=context)
        finally:
            await context.close()
        errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
        audited = {pid: list(access.achievement_ids) for pid, access in context.audit.persons.items()}
        return (result.data, errors), audited

    return asyncio.run(go())


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_the_fast_path_answers_as_graphql_core(db: Engine, settings: Settings, index: int) -> None:
    learner = make_learner(db, courses=7, organisations=3, seed=61, failed_every=3)
    variables = {"nin": learner.nin, "yes": True}
    fast = _execute(build_schema(settings), settings, db, QUERIES[index], variables)
    standard = _execute(build_schema(settings, fast_execution=False), settings, db, QUERIES[index], variables)
    assert fast[0] == standard[0]
    assert fast[0][0]["person"] is not None and fast[0][1] == []
    # The standard executor never calls the audit hook; the fast path notes what it gave out.
    assert set(fast[1][learner.person_id]) <= {*learner.degrees, *learner.courses}


def test_a_null_where_the_schema_forbids_one_is_the_same_error(
    db: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner = make_learner(db, courses=2, organisations=1, seed=62)
    original = types.Specification.of

    def without_kind(view: Any, shared: Any = None) -> types.Specification:
        made = original(view, shared)
        made.kind = None  # type: ignore[assignment]  # a broken view: kind is String!
        return made

    monkeypatch.setattr(types.Specification, "of", without_kind)
    query = QUERIES[0].replace("cursor node {", "cursor node { specification { kind code }")
    fast = _execute(build_schema(settings), settings, db, query, {"nin": learner.nin})
    standard = _execute(
        build_schema(settings, fast_execution=False), settings, db, query, {"nin": learner.nin}
    )
    assert fast[0] == standard[0]
    assert fast[0][1] and all("non-nullable" in message for message, _ in fast[0][1])
