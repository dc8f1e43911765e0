"""Errors as RFC 9457 problem details (``application/problem+json``) with a stable ``code``.

Every failure the API answers with is an ``ApiError`` (or is turned into one here): the HTTP status,
a stable dotted code that clients may branch on (listed in docs/errors.md), a short title and a
detail for people. Details never contain a national id: the handlers below also drop the offending
input from request-validation errors, because that input may be one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from importers.base import UnusableInput
from register.audit_group import AuditNotWritten
from register.errors import RegisterError
from register.redaction import redact

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5
#: the status the access log shows for a request its client abandoned (nginx's "client closed request")
CLIENT_CLOSED = 499

log = logging.getLogger("api.errors")


class ApiError(Exception):
    """A failure with its HTTP meaning and a stable code."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.headers = headers or {}
        self.extra = extra or {}


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    411: "Length required",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    431: "Request header fields too large",
    499: "Client closed request",
    500: "Internal server error",
    503: "Service unavailable",
}


class InvalidParam(BaseModel):
    """Where a request was wrong (``loc``), which rule (``type``) and why (``msg``); never the input."""

    loc: list[str | int]
    type: str
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, extended with ``code`` and ``request_id``."""

    type: str = Field(default="about:blank")
    title: str
    status: int = Field(ge=100, le=599)
    detail: str
    code: str = Field(description="stable dotted error code, see docs/errors.md")
    instance: str | None = None
    request_id: str | None = None
    errors: list[InvalidParam] | None = None


def problem_response(request: Request, error: ApiError) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://kompetanseregisteret.no/errors/{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        # The path only, never the query string: a misdirected client may have put a national id in
        # the URL, and it must not come back in an error.
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
        **error.extra,
    }
    # Every text of a problem may quote what the client sent — a path, a statistics dimension, a
    # filter value, an unknown JSON key (in ``errors[].loc``), a GraphQL operation name — and a client
    # can send a national id in any of them: all of it goes through the one redaction, here.
    return JSONResponse(
        _redacted(body), status_code=error.status, headers=error.headers, media_type=PROBLEM_JSON
    )


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring problem+json bodies for the given statuses."""
    return {
        status: {
            "model": Problem,
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _clean_validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        loc = [part if isinstance(part, int) else str(part) for part in err.get("loc", ())]
        cleaned.append({"loc": loc, "type": str(err.get("type", "invalid")), "msg": str(err.get("msg", ""))})
    return cleaned


def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is down, restarting or saturated: not a bug here, and worth retrying shortly."""
    log.warning(
        "database unavailable (%s) on %s %s (request %s)",
        type(exc).__name__,
        request.method,
        request.url.path,
        getattr(request.state, "request_id", None),
    )
    return problem_response(
        request,
        ApiError(
            503,
            "database.unavailable",
            "the register's database cannot be reached just now; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ),
    )


def install_error_handlers(app: FastAPI) -> None:
    """Render every failure as problem+json, including framework errors and unexpected exceptions."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RegisterError)
    async def _domain(request: Request, exc: RegisterError) -> JSONResponse:
        return problem_response(request, ApiError(exc.status, exc.code, exc.message))

    @app.exception_handler(UnusableInput)
    async def _unusable(request: Request, exc: UnusableInput) -> JSONResponse:
        status = 413 if exc.code == "input.too_large" else 422
        return problem_response(request, ApiError(status, exc.code, exc.message))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _clean_validation_errors(exc.errors())
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
        error = ApiError(
            422,
            "request.invalid",
            f"the request does not match the API's schema at: {where}" if where else "invalid request",
            extra={"errors": errors},
        )
        return problem_response(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's "error parsing the body" (not JSON, not UTF-8): one rule for every malformed
            # request, 422 request.invalid, so clients handle one status for "fix what you send".
            return problem_response(
                request, ApiError(422, "request.invalid", "the request body cannot be parsed")
            )
        code = {
            404: "route.not_found",
            405: "route.method_not_allowed",
            401: "auth.missing_token",
            403: "auth.forbidden",
        }.get(exc.status_code, f"http.{exc.status_code}")
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404:
            detail = "no such route"
        return problem_response(
            request, ApiError(exc.status_code, code, detail, headers=dict(exc.headers or {}))
        )

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    async def _database(request: Request, exc: sqlalchemy.exc.DBAPIError) -> JSONResponse:
        if exc.connection_invalidated or isinstance(
            exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError
        ):
            return _unavailable(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(sqlalchemy.exc.TimeoutError)  # no pooled connection came free in time
    async def _pool_timeout(request: Request, exc: sqlalchemy.exc.TimeoutError) -> JSONResponse:
        return _unavailable(request, exc)

    @app.exception_handler(psycopg.OperationalError)  # raised past SQLAlchemy (COPY on the raw connection)
    async def _driver(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        return _unavailable(request, exc)

    @app.exception_handler(AuditNotWritten)  # the JSON look-up's audit row: no data without it
    async def _audit_not_written(request: Request, exc: AuditNotWritten) -> JSONResponse:
        if exc.unavailable:
            return _unavailable(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(ClientDisconnect)
    async def _disconnected(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client went away mid-body (a cancelled upload, a dropped connection): nothing is wrong
        # here and nobody reads the answer. It was logged as an ERROR with a traceback; one line does.
        log.info(
            "client disconnected before sending its whole body on %s %s (request %s)",
            request.method,
            request.url.path,
            getattr(request.state, "request_id", None),
        )
        return problem_response(
            request, ApiError(CLIENT_CLOSED, "request.client_disconnected", "the client closed the request")
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The exception text may quote data (a driver error quotes parameters): log the type and the
        # request id only, and keep the traceback out of the response.
        log.error(
            "unhandled %s on %s %s (request %s)",
            type(exc).__name__,
            request.method,
            request.url.path,
            getattr(request.state, "request_id", None),
        )
        return problem_response(
            request, ApiError(500, "internal.error", "an unexpected error occurred; quote the request id")
        )
