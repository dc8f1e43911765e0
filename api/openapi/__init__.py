"""The OpenAPI document: every operation with its examples, its error codes and its scopes.

One declaration per operation, in its route decorator::

    @router.post("/persons/lookup", response_model=PersonOut,
                 **documented(request_example=LOOKUP_IN, example=PERSON, errors={404: "person.not_found"}))

``documented`` declares what only the operation knows: its success example(s), its request example and
the error codes its handler can answer with (by HTTP status, codes from docs/errors.md). What every
operation of a kind shares is added here, from the route itself, so it cannot be forgotten or drift:

- a route that depends on ``require_scope`` gets its scopes as security requirements (the OAuth2
  client-credentials scheme ``maskinporten`` with the scopes of ``register.scopes.Scope``, and the
  plain ``bearer`` scheme for a token pasted by hand), 401 with the token codes and 403
  ``auth.missing_scope``;
- an operation with parameters or a body: 422 ``request.invalid``; a JSON body under ``/v1``: 413
  ``request.too_large`` (``api/limits.py``); everything but liveness: 503 ``database.unavailable``;
- every error status is a problem+json response that names its codes and carries one example per code.

Responses an operation cannot give are refused when the document is built: 409 and 413 only where a
request has a body and changes something (the document listed 409 and 413 on
``GET /v1/organisations/{orgnr}``).
``tests/docs/test_openapi.py`` fails for an operation without examples or without its declaration,
and says what to add.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.errors import _TITLES, PROBLEM_JSON, Problem
from api.openapi.graphql import GRAPHQL_OPERATION
from register.scopes import Scope

#: the operation's own error codes, by status (its declaration); the common ones are added to it
ERROR_CODES = "x-error-codes"
#: set by ``documented``: an operation without it was never declared (the test names it)
DECLARED = "x-documented"
#: an operation that answers a refused token as OAuth does (``{"error": …}``, RFC 6750), not as
#: problem+json: the wallet issuer's endpoints, whose clients are wallets; its 401 is its own declaration
OAUTH_ERRORS = "x-oauth-errors"

#: what ``api/auth.py`` answers for a missing or refused token (docs/errors.md, authentication)
TOKEN_CODES = (
    "auth.missing_token",
    "token.malformed",
    "token.algorithm_not_allowed",
    "token.unknown_issuer",
    "token.unknown_key",
    "token.bad_signature",
    "token.expired",
    "token.not_yet_valid",
    "token.wrong_audience",
    "token.missing_claim",
    "token.invalid_claims",
    "token.invalid",
)
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_UNSAFE = {"post", "put", "patch", "delete"}
#: the liveness probe touches no database; every other operation may meet 503
_NO_DATABASE = {("get", "/health")}

Errors = Mapping[int, str | Sequence[str]]


def documented(
    *,
    example: Any = None,
    examples: Mapping[str, Any] | None = None,
    status: int = 200,
    media_type: str = "application/json",
    request_example: Any = None,
    request_body: Mapping[str, Any] | None = None,
    errors: Errors | None = None,
    responses: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Route-decorator arguments (``responses``, ``openapi_extra``) documenting one operation.

    ``example`` (or several named ``examples``) is the success body under ``status``/``media_type``;
    ``request_example`` the JSON body's example (or ``request_body``: a whole OpenAPI request body,
    for uploads); ``errors`` the handler's own codes by status — auth, validation, size and database
    codes are added from the route; ``responses`` further success responses (202 with its example).
    """
    if example is None and not examples:
        raise ValueError("documented() needs an example of the success response")
    own = {s: [codes] if isinstance(codes, str) else list(codes) for s, codes in (errors or {}).items()}
    content: dict[str, Any] = {"example": example} if example is not None else {}
    if examples:
        content["examples"] = {name: {"summary": name, "value": value} for name, value in examples.items()}
    extra: dict[str, Any] = {
        DECLARED: True,
        ERROR_CODES: {str(s): codes for s, codes in own.items()},
        "responses": {str(status): {"content": {media_type: content}}},
    }
    if request_body is not None:
        extra["requestBody"] = dict(request_body)
    elif request_example is not None:
        extra["requestBody"] = {"content": {"application/json": {"example": request_example}}}
    declared: dict[int | str, dict[str, Any]] = {
        s: {"description": _TITLES.get(s, "Error"), "model": Problem} for s in own
    }
    for s, response in (responses or {}).items():
        declared[s] = dict(response)
        # A further response's examples go in again as written, as the main one's do: FastAPI drops
        # the nulls of what it is given, and an example without its nulls no longer fits its schema.
        for media, body in response.get("content", {}).items():
            extra["responses"].setdefault(str(s), {}).setdefault("content", {}).setdefault(media, {}).update(
                body
            )
    return {"responses": declared, "openapi_extra": extra}


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (``/openapi.json``) the completed document, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build_document(app: FastAPI) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    for route in _api_routes(app):
        for method in sorted(route.methods or ()):
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            key = (method.lower(), route.path_format)
            if route.openapi_extra:
                # Again, with the values as written: FastAPI drops every null from the document, and
                # an example without its nulls no longer fits its schema.
                _merge(operation, route.openapi_extra)
            if key == ("post", GRAPHQL_OPERATION.path):
                GRAPHQL_OPERATION.apply(operation)
            _complete(operation, key, _required_scopes(route.dependant))
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    components["securitySchemes"] = security_schemes()
    return document


def _api_routes(app: FastAPI) -> list[Any]:
    """The app's API routes with their full paths and dependencies (mounted routers included)."""
    iter_route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_route_contexts is None:  # FastAPI before 0.16x: included routes are copied into the app
        return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]
    # Since 0.16x an included router stays one route; its routes are reached through contexts.
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema
    ]


def _merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for name, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(name), dict):
            _merge(target[name], value)
        else:
            target[name] = value


def security_schemes() -> dict[str, Any]:
    scopes = {scope.value: scope.grants for scope in Scope}
    return {
        "maskinporten": {
            "type": "oauth2",
            "description": (
                "A Maskinporten access token (OAuth2 client credentials with a JWT grant), its `scope` "
                "one or more of the scopes below and `consumer` your organisation number. In development "
                "`register token --scope … --org …` makes one."
            ),
            "flows": {"clientCredentials": {"tokenUrl": "https://maskinporten.no/token", "scopes": scopes}},
        },
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The same token pasted by hand (`Authorization: Bearer …`).",
        },
    }


def _required_scopes(dependant: Dependant) -> tuple[str, ...]:
    found: list[str] = []
    for dependency in dependant.dependencies:
        found.extend(getattr(dependency.call, "required_scopes", ()))
        found.extend(_required_scopes(dependency))
    return tuple(dict.fromkeys(found))


def _complete(operation: dict[str, Any], key: tuple[str, str], scopes: Sequence[str]) -> None:
    method, path = key
    # Scopes a route checks before it runs (require_scope: 403 when missing), or those its fields check
    # one by one (GraphQL, declared as x-scopes: a missing one is an error inside a 200 answer).
    checked_first = bool(scopes)
    scopes = tuple(str(s) for s in scopes) or tuple(operation.pop("x-scopes", ()))
    codes: dict[str, list[str]] = {s: list(c) for s, c in operation.get(ERROR_CODES, {}).items()}
    has_body = "requestBody" in operation
    secured = bool(scopes) or bool(operation.get("security"))
    oauth = bool(operation.pop(OAUTH_ERRORS, False))
    if secured:
        operation["security"] = [{scheme: [s]} for s in scopes for scheme in ("maskinporten", "bearer")] or [
            {"bearer": []}
        ]
        if not oauth:
            _add(codes, 401, *TOKEN_CODES)
        if checked_first:
            _add(codes, 403, "auth.missing_scope")
    if path.startswith("/v1/") and (operation.get("parameters") or has_body):
        _add(codes, 422, "request.invalid")
    if (
        has_body
        and path.startswith("/v1/")
        and "application/json" in operation["requestBody"].get("content", {})
    ):
        _add(codes, 413, "request.too_large")
    if key not in _NO_DATABASE:
        _add(codes, 503, "database.unavailable")
    # Statuses an operation of this kind cannot answer with: no conflict without a change, no body
    # too large without a body. A declaration that names one is a mistake, said at once.
    impossible = [s for s in codes if (s == "409" and method not in _UNSAFE) or (s == "413" and not has_body)]
    if impossible:
        raise ValueError(f"{method.upper()} {path} declares {', '.join(impossible)}, which it cannot answer")
    responses = operation.setdefault("responses", {})
    for status, status_codes in sorted(codes.items()):
        responses[status] = _problem_response(int(status), status_codes, path)
    operation["responses"] = dict(sorted(responses.items()))
    operation[ERROR_CODES] = dict(sorted(codes.items()))
    if codes:
        listed = "\n".join(f"- {s}: " + ", ".join(f"`{c}`" for c in cs) for s, cs in sorted(codes.items()))
        operation["description"] = (
            operation.get("description", "").rstrip() + "\n\n**Error codes** (docs/errors.md):\n\n" + listed
        ).lstrip()


def _add(codes: dict[str, list[str]], status: int, *new: str) -> None:
    present = codes.setdefault(str(status), [])
    present.extend(c for c in new if c not in present)


def _problem_response(status: int, codes: Sequence[str], path: str) -> dict[str, Any]:
    title = _TITLES.get(status, "Error")
    return {
        "description": f"{title}: " + ", ".join(f"`{c}`" for c in codes),
        "content": {
            PROBLEM_JSON: {
                "schema": _PROBLEM_REF,
                "examples": {
                    code: {"summary": code, "value": problem_example(status, code, path)} for code in codes
                },
            }
        },
    }


def problem_example(status: int, code: str, path: str) -> dict[str, Any]:
    """What ``api/errors.py`` answers with for ``code``: the shape a client sees, the detail abridged."""
    example: dict[str, Any] = {
        "type": f"https://kompetanseregisteret.no/errors/{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": f"({code}: the message says what was wrong and where; see docs/errors.md)",
        "code": code,
        "instance": path,
        "request_id": "3f1c2a9e-6b7d-4e58-9a41-0c2d5e8f7b10",
    }
    if code == "request.invalid":
        example["errors"] = [{"loc": ["body", "nin"], "type": "missing", "msg": "Field required"}]
    return example
