"""``POST /graphql`` in the OpenAPI document: Strawberry's route says nothing about itself, so what it
takes, gives and refuses is declared here, once, and applied to its operation by ``build_document``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from register.scopes import Scope

_QUERY = (
    "query Person($nin: String!) { person(nin: $nin) { name { given family } "
    "achievements(passedOnly: true) { totalCount nodes { kind specification { code title { nb } } "
    "grade { asDelivered passed } credits { value scheme } } } } }"
)


@dataclass(frozen=True)
class GraphQLOperation:
    path: str = "/graphql"
    scopes: tuple[str, ...] = (Scope.READ.value, Scope.STATS.value, Scope.ADMIN.value)
    errors: dict[str, list[str]] = field(
        default_factory=lambda: {
            "400": ["graphql.query_string", "graphql.bad_request"],
            "413": ["request.too_large"],
        }
    )

    def apply(self, operation: dict[str, Any]) -> None:
        operation["summary"] = "GraphQL: persons, organisations, specifications, statistics"
        operation["description"] = (
            "One operation per request, as JSON: `query`, `variables` (a national id only ever as a "
            "variable), `operationName`. Scopes are checked per field (`person` needs `kompetanse:read`, "
            "`stats` `kompetanse:stats`). Errors inside a query are in `errors[].extensions.code` with the "
            "codes of docs/errors.md (GraphQL section) and the answer is 200; a request refused before "
            "GraphQL reads it is problem+json. Schema and examples: docs/graphql.md; GraphiQL at "
            "`/graphiql` where introspection is on."
        )
        operation["x-scopes"] = list(self.scopes)
        operation["x-documented"] = True
        operation["x-error-codes"] = {s: list(c) for s, c in self.errors.items()}
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["query"],
                        "properties": {
                            "query": {"type": "string"},
                            "variables": {"type": ["object", "null"]},
                            "operationName": {"type": ["string", "null"]},
                        },
                        "additionalProperties": False,
                    },
                    "example": {
                        "query": _QUERY,
                        "variables": {"nin": "24890654459"},
                        "operationName": "Person",
                    },
                }
            },
        }
        operation["responses"]["200"] = {
            "description": "The GraphQL answer: `data`, and `errors` with stable codes where a field failed",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "data": {"type": ["object", "null"]},
                            "errors": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                    "examples": {
                        "a person": {
                            "summary": "a person",
                            "value": {
                                "data": {
                                    "person": {
                                        "name": {"given": "Emil", "family": "Berg"},
                                        "achievements": {
                                            "totalCount": 1,
                                            "nodes": [
                                                {
                                                    "kind": "COURSE_RESULT",
                                                    "specification": {
                                                        "code": "EL-101",
                                                        "title": {"nb": "Elektrotekniske fag"},
                                                    },
                                                    "grade": {"asDelivered": "B", "passed": True},
                                                    "credits": {"value": 10.0, "scheme": "fagskolepoeng"},
                                                }
                                            ],
                                        },
                                    }
                                }
                            },
                        },
                        "an error in a field": {
                            "summary": "an error in a field",
                            "value": {
                                "data": {"person": None},
                                "errors": [
                                    {
                                        "message": "no person in the register has this national identity number",
                                        "path": ["person"],
                                        "extensions": {
                                            "code": "person.not_found",
                                            "status": 404,
                                            "request_id": "3f1c2a9e-6b7d-4e58-9a41-0c2d5e8f7b10",
                                        },
                                    }
                                ],
                            },
                        },
                    },
                }
            },
        }


GRAPHQL_OPERATION = GraphQLOperation()
