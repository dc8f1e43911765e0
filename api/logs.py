"""Request ids and an access log that cannot carry a national id.

Each request gets an id (a sane ``X-Request-ID`` from the caller, else a new one), returned in the
response header and written on audit rows and error bodies. The access log line holds method, route
template, status, duration, request id and client — never a query string, a body or a raw path; and a
filter redacts any run of eleven digits from uvicorn's own access log, should an operator turn it on.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("api.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


def redact(text: str) -> str:
    return _ELEVEN_DIGITS.sub("[redacted]", text)


class _RedactDigits(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        record.msg = redact(str(record.msg))
        if record.exc_info:
            # A driver error quotes the statement's parameters; the traceback is kept, redacted.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_api_logging(level: str) -> None:
    """Give the ``api`` loggers a level and, when nothing else logs (uvicorn sets up only its own
    loggers), a handler on standard error — so the access lines reach the operator."""
    logger = logging.getLogger("api")
    logger.setLevel(level.upper())
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def install_access_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "api.errors", "api.rest.batches"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactDigits) for f in logger.filters):
            logger.addFilter(_RedactDigits())


class RequestContextMiddleware:
    """Pure ASGI (no response buffering): sets ``state.request_id`` and logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or "(unmatched)"
            principal = scope.get("state", {}).get("principal")
            access_log.info(
                "%s %s %s %.1fms request=%s client=%s",
                scope.get("method"),
                redact(path),
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
                getattr(principal, "client_id", "-"),
            )
