"""A bound on request bodies other than uploads: hostile input is refused before it is read whole.

JSON bodies of this API are small (a national id and a few options). Without a bound, a client could
make the server read a gigabyte of JSON into memory before validation says no. Uploads
(``POST /v1/batches``) have their own, much larger bound and stream to disk.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, problem_response

MAX_JSON_BODY = 64 * 1024
#: a request line plus headers; the largest legitimate one is a bearer token (at most 16 KiB, see
#: api.auth.MAX_TOKEN_LENGTH) with a few ordinary headers, so twice that is room enough
MAX_HEAD_BYTES = 32 * 1024
#: header lines in one request: clients and proxies send about 10–30
MAX_HEADERS = 100
_UPLOAD_PATHS = frozenset({"/v1/batches"})


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_JSON_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or scope["path"] in _UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        # Read at most max_bytes + 1 (bounded memory), then hand the body on as it came.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(body)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        error = ApiError(413, "request.too_large", f"request bodies are limited to {self.max_bytes} bytes")
        response = problem_response(Request(scope), error)
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class QueryTextMiddleware:
    """Refuse a query string that decodes to text the register cannot handle (422 ``request.invalid``).

    A NUL (``%00``) or bytes that are not UTF-8 (a lone surrogate, ``%ED%A0%80``) in a filter would
    reach PostgreSQL, which refuses them; they are malformed requests, caught here once for every route.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            raw = unquote_to_bytes(scope["query_string"].replace(b"+", b" "))
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError:
                decoded = "\x00"
            if "\x00" in decoded:
                error = ApiError(
                    422, "request.invalid", "the query string holds a NUL byte or bytes that are not UTF-8"
                )
                await problem_response(Request(scope), error)(scope, _no_body, send)
                return
        await self.app(scope, receive, send)


class HeaderLimitMiddleware:
    """Refuse a request whose headers exceed ``MAX_HEAD_BYTES`` in total or ``MAX_HEADERS`` in number
    (431 ``request.headers_too_large``).

    ``register serve`` bounds heads in the HTTP server already, before they are buffered
    (api/server.py); this is the same rule for a deployment that runs the app under another server,
    so that no request past it reaches authentication, the log or an audit row.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers") or []
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(name) + len(value) + 4 for name, value in headers)  # ": " and CRLF
            if len(headers) > MAX_HEADERS or size > MAX_HEAD_BYTES:
                error = ApiError(
                    431,
                    "request.headers_too_large",
                    f"request headers are limited to {MAX_HEAD_BYTES} bytes and {MAX_HEADERS} lines",
                )
                await problem_response(Request(scope), error)(scope, _no_body, send)
                return
        await self.app(scope, receive, send)
