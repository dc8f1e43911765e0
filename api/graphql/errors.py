"""GraphQL errors with the same stable codes as REST's problem+json, and never a stack trace.

Every error in a response carries ``extensions.code`` (the codes of docs/errors.md and docs/graphql.md),
``extensions.status`` (the HTTP status REST would have answered with) and ``extensions.request_id``.
Expected failures raised by resolvers are the register's own exceptions (``RegisterError``,
``ApiError``, ``AuthError``); anything else is an unexpected error, answered with ``internal.error`` and
a message that quotes nothing. Messages are never logged (they can quote a document, and a document can
hold a national id): the log line holds the code, the path and the request id.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import sqlalchemy.exc
from graphql import GraphQLError

from api.auth import AuthError
from api.errors import ApiError
from register.errors import RegisterError
from register.redaction import redact

log = logging.getLogger("api.graphql")

UNEXPECTED = "an unexpected error occurred; quote the request id"
_UNAVAILABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    psycopg.OperationalError,
)


def missing_scope(*any_of: str) -> ApiError:
    return ApiError(403, "auth.missing_scope", f"this field needs the scope {' or '.join(any_of)}")


def classify(error: GraphQLError) -> tuple[str, int, str]:
    """(code, HTTP-equivalent status, message safe to return) for one error of a result."""
    original = error.original_error
    if isinstance(original, ApiError):
        return original.code, original.status, original.detail
    if isinstance(original, RegisterError):
        return original.code, original.status, original.message
    if isinstance(original, AuthError):
        return original.code, 401, original.message
    if isinstance(original, _UNAVAILABLE):  # as REST: not a bug here, and worth retrying shortly
        return (
            "database.unavailable",
            503,
            "the register's database cannot be reached just now; try again shortly",
        )
    if original is not None and not isinstance(original, GraphQLError):
        return "internal.error", 500, UNEXPECTED
    given = (error.extensions or {}).get("code")
    if isinstance(given, str):
        return given, 400, redact(error.message)
    if "Document contains more than" in error.message:  # graphql-core's parser token limit
        return "query.too_many_tokens", 400, redact(error.message)
    if error.message.startswith("Syntax Error"):
        return "graphql.syntax", 400, redact(error.message)
    # The standard validation rules and variable coercion: the document does not fit the schema.
    # Their messages may quote a literal of the document, so eleven-digit runs are redacted.
    return "graphql.invalid", 400, redact(error.message)


def format_error(error: GraphQLError, request_id: str | None) -> dict[str, Any]:
    code, status, message = classify(error)
    # The one redaction for reflected input (register.redaction): a message may quote a literal, an
    # enum value or an operation name, and a path holds the client's aliases (``_24890654459`` is one).
    formatted: dict[str, Any] = {"message": redact(message)}
    if error.locations:
        formatted["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        formatted["path"] = [redact(p) if isinstance(p, str) else p for p in error.path]
    formatted["extensions"] = {"code": code, "status": status, "request_id": request_id}
    return formatted


def log_errors(errors: list[GraphQLError], request_id: str | None) -> None:
    for error in errors:
        code, status, _ = classify(error)
        path = ".".join(str(p) for p in error.path) if error.path else "-"
        if status >= 500:
            original = error.original_error
            log.error(
                "graphql %s at %s: %s (request %s)",
                code,
                path,
                type(original).__name__ if original is not None else "GraphQLError",
                request_id,
            )
        else:
            log.info("graphql %s at %s (request %s)", code, path, request_id)
