"""Property-based tests generated from the OpenAPI document: no 5xx, every response fits the schema.

Bounded: a fixed number of examples per operation and mode, derandomized, so it stays part of the
ordinary test run. The caller holds every scope, so generated requests get past authentication into
the handlers; negative examples (data that breaks the schema) must be refused with a documented 4xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from tests.api.conftest import ALL_SCOPES, Token, bearer
from tests.factories import create_organisation

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 10


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_openapi_conformance(app: FastAPI, token: Token, db: Engine, mode: GenerationMode) -> None:
    orgnr = create_organisation(db, name="Schemathesis fagskole", kind="fagskole")
    auth = bearer(token(orgnr, *ALL_SCOPES))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The REST operations; /graphql (issue 7) is exercised by the GraphQL tests with its own schema.
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if not op.path.startswith("/graphql")
    ]
    assert len(operations) >= 15

    exercised: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=auth, checks=CHECKS)

        try:
            exercise()
        except Unsatisfiable:
            # Nothing to break: an operation without parameters or body has no negative examples.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        exercised.append(operation.label)
    assert len(exercised) >= (15 if mode is GenerationMode.POSITIVE else 12), exercised
