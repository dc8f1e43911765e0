"""Request ids and an access log that cannot carry a national id.

Each request gets an id (a sane ``X-Request-ID`` from the caller, else a new one), returned in the
response header and written on audit rows and error bodies. A caller's id is used only when it is a
token of at most 64 characters of ``[A-Za-z0-9._:-]`` holding nothing national-id-like (eleven digits,
or 6 + 5 split by a blank, dot or dash): an eleven-digit ``X-Request-ID`` was written to the access log
and stored on audit rows. Anything else is replaced by a new UUID — the response's ``X-Request-ID`` is
always the id the register used, and ``X-Request-ID-Replaced: true`` says the caller's was not.

The access log line holds method, route template, status, duration, request id and client — never a
query string, a body or a raw path; and a filter puts every record of the register's and uvicorn's
loggers through ``register.redaction.redact``, the one redaction for all reflected input.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from register.redaction import LOG_LIMIT, RedactingFormatter, holds_national_id, redact

access_log = logging.getLogger("api.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: the loggers whose records are redacted where they are made (so every handler, caplog too, sees that)
_REDACTED_LOGGERS = (
    "uvicorn", "uvicorn.access", "uvicorn.error", "api", "api.access", "api.errors", "api.graphql",
    "api.rest.batches", "api.background", "register", "intake.batches", "strawberry",
)  # fmt: skip


def usable_request_id(given: str) -> str | None:
    """The caller's ``X-Request-ID`` if the register may keep it (logs, audit rows), else None."""
    if _REQUEST_ID.fullmatch(given) and not holds_national_id(given):
        return given
    return None


class _RedactDigits(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # The message as it will read, arguments of every type included (an int or an object's str
        # can hold eleven digits as well as a str can).
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed logging call must not fail the caller here
            message = f"{record.msg} {record.args}"
        record.msg = redact(message, limit=LOG_LIMIT)
        record.args = None
        if record.exc_info:
            # A driver error quotes the statement's parameters; the traceback is kept, redacted.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), limit=LOG_LIMIT)
            record.exc_info = None
        return True


def configure_api_logging(level: str) -> None:
    """Give the ``api`` loggers a level and, when nothing else logs (uvicorn sets up only its own
    loggers), a handler on standard error — so the access lines reach the operator."""
    logger = logging.getLogger("api")
    logger.setLevel(level.upper())
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def install_access_log_redaction() -> None:
    for name in _REDACTED_LOGGERS:
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
        given = dict(scope.get("headers") or []).get(b"x-request-id")
        kept = usable_request_id(given.decode("latin-1")) if given is not None else None
        request_id = kept or str(uuid.uuid4())
        replaced = given is not None and kept is None
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                if replaced:
                    message["headers"].append((b"x-request-id-replaced", b"true"))
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
