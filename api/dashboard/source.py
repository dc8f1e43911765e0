"""The dashboard's figures come from the statistics API itself, asked in process with the analyst's token.

Why not from ``register.stats`` directly: the API is the one definition of what an analyst may see —
its scope check, its filters, its disclosure control, its cache, its formats. Asked through the app
(the same ASGI stack a client's request goes through), the charts show the numbers a client of
``GET /v1/stats/achievements`` gets, and a download is the API's own answer, byte for byte, in the
format asked for. No HTTP leaves the process: the request is handed to the app as an ASGI call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

STATS_PATH = "/v1/stats/achievements"


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "application/octet-stream")

    def json(self) -> Any:
        return json.loads(self.body)


async def ask(app: ASGIApp, token: str, query: dict[str, str], *, request_id: str | None = None) -> ApiAnswer:
    """``GET /v1/stats/achievements?<query>`` answered by ``app`` for the holder of ``token``.

    ``request_id`` is the page's own: the API's access-log line then names the page request it served.
    """
    headers = [(b"host", b"dashboard"), (b"authorization", b"Bearer " + token.encode("ascii"))]
    if request_id:
        headers.append((b"x-request-id", request_id.encode("latin-1")))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": STATS_PATH,
        "raw_path": STATS_PATH.encode(),
        "root_path": "",
        "query_string": urlencode(query).encode(),
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "state": {},
    }
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    status = 500
    answer_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                answer_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return ApiAnswer(status, answer_headers, b"".join(chunks))
