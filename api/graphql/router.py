"""``/graphql`` on the FastAPI app: POST only, a bearer token on every request, problem+json when the
request never reaches GraphQL, and the audit rows written before the response leaves.

What is refused before a document is even parsed:
- GET (no route: a query in a URL would put a national id in access logs and browser histories), and
  a POST with a query string (``graphql.query_string``);
- a missing or invalid token: 401 problem+json with REST's codes (``auth.missing_token``, ``token.*``);
- a body over ``MAX_BODY_BYTES`` (413 ``request.too_large``, as REST), read in bounded memory;
- what Strawberry's transport refuses (not JSON, a batch, no query): 400 ``graphql.bad_request``.
No subscriptions (nothing streams) and no IDE here: GraphiQL is a page of its own, with the package's
assets, at ``/graphiql`` where introspection is on (api/docs_ui).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, cast

import orjson
from cross_web import HTTPException as StrawberryHTTPException
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from graphql import GraphQLError
from starlette.routing import BaseRoute, Route
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from api.auth import current_principal
from api.deps import EngineDep, SettingsDep
from api.errors import ApiError
from api.graphql.context import GraphContext
from api.graphql.errors import UNEXPECTED, format_error, log
from api.graphql.schema import build_schema
from register.settings import Settings
from register.stats import StatsResult, VersionedCache

MAX_BODY_BYTES = 64 * 1024
PATH = "/graphql"

_bearer = HTTPBearer(auto_error=False, description="A Maskinporten access token (or `register token`)")


async def _bounded_body(request: Request) -> None:
    """Read the body once, refusing it past ``MAX_BODY_BYTES``; Strawberry then reads the cached copy."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(
            413, "request.too_large", f"a GraphQL request body may be at most {MAX_BODY_BYTES} bytes"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(
                413, "request.too_large", f"a GraphQL request body may be at most {MAX_BODY_BYTES} bytes"
            )
    request._body = bytes(body)  # Starlette's own cache of the body (what request.body() returns)


def _stats_results_of(request: Request) -> VersionedCache[StatsResult]:
    results: VersionedCache[StatsResult] = request.app.state.stats_results
    return results


async def context_getter(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    stats_results: Annotated[VersionedCache[StatsResult], Depends(_stats_results_of)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AsyncIterator[GraphContext]:
    """The request's GraphQL context from the app's dependencies (the same ones REST's handlers name)."""
    if request.url.query:
        raise ApiError(
            400,
            "graphql.query_string",
            "send the GraphQL request in a JSON body; this endpoint takes no query string",
        )
    principal = current_principal(request, credentials)  # 401 problem+json, as REST
    await _bounded_body(request)
    context = GraphContext(
        settings=settings,
        engine=engine,
        principal=principal,
        request_id=getattr(request.state, "request_id", None),
        stats_results=stats_results,
    )
    request.state.graphql_context = context
    try:
        yield context
    finally:
        await context.close()


class RegisterGraphQLRouter(GraphQLRouter[GraphContext, None]):
    def encode_json(self, data: object) -> bytes:
        # A person's achievements make a few hundred kilobytes; orjson encodes them several times
        # faster than the standard library.
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # json.loads recurses once per nesting level: 30 000 brackets fit in a small body and exhaust
        # the stack. That is a malformed request, not a server fault.
        try:
            return json.loads(data)
        except RecursionError:
            raise ApiError(
                400, "graphql.bad_request", "the request body nests deeper than it can be read"
            ) from None

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        try:
            return await super().run(request, context=context, root_value=root_value)
        except StrawberryHTTPException as exc:
            raise ApiError(exc.status_code, "graphql.bad_request", exc.reason) from None

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        context: GraphContext = request.state.graphql_context
        errors = list(result.errors or [])
        data = result.data
        try:
            await context.finish()
        except Exception as exc:
            # No audit row, no person data: the whole answer is withheld.
            data = None
            errors = [GraphQLError(UNEXPECTED, original_error=exc)]
            log.error(
                "graphql audit or commit failed: %s (request %s)", type(exc).__name__, context.request_id
            )
        response: dict[str, Any] = {"data": data}
        if errors:
            response["errors"] = [format_error(e, context.request_id) for e in errors]
        return response  # type: ignore[return-value]


def graphql_router(settings: Settings) -> RegisterGraphQLRouter:
    """The router to include in the app: ``app.include_router(graphql_router(settings))``."""
    router = RegisterGraphQLRouter(
        build_schema(settings),
        path=PATH,
        graphql_ide=None,
        allow_queries_via_get=False,
        context_getter=cast(Any, context_getter),  # an async-generator dependency, as FastAPI allows
        subscription_protocols=(),
        multipart_uploads_enabled=False,
        tags=["graphql"],
    )
    # Strawberry registers GET (IDE and queries in the URL) and a websocket route on the same path;
    # only POST is offered here.
    router.routes[:] = [r for r in router.routes if _is_post(r)]
    return router


def _is_post(route: BaseRoute) -> bool:
    return isinstance(route, Route) and "POST" in (route.methods or set())
