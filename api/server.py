"""Bounds on request heads, enforced by the HTTP server before anything is buffered whole.

uvicorn's default parser (httptools, over llhttp) sets no limit on a request's head: 64 MiB of headers
were read into memory before authentication (+54 MB RSS). ``BoundedHttpToolsProtocol`` feeds the
parser at most ``MAX_HEAD_BYTES`` of a request's line and headers and at most ``MAX_HEADERS`` header
lines; past either it answers 431 and closes the connection. (httptools keeps a header's partial
name and value in its own buffer until the line ends, so the bound has to be on the bytes fed, not on
the headers it reports.) ``h11_max_incomplete_event_size`` is set to the same bound for whoever runs
the app with uvicorn's h11 parser instead (httptools comes with ``uvicorn[standard]``, a dependency).
``api.limits.HeaderLimitMiddleware`` checks the same limits again in the app, for a deployment behind
another server.

``register serve`` runs uvicorn with ``uvicorn_limits()``.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.limits import MAX_HEAD_BYTES, MAX_HEADERS

# The same problem+json the app answers with (api.limits.HeaderLimitMiddleware), written by the
# server: the request never reaches the app, so it has no request id.
_PROBLEM = json.dumps(
    {
        "type": "https://kompetanseregisteret.no/errors/request.headers_too_large",
        "title": "Request header fields too large",
        "status": 431,
        "detail": f"request headers are limited to {MAX_HEAD_BYTES} bytes and {MAX_HEADERS} lines",
        "code": "request.headers_too_large",
    }
).encode()
_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/problem+json\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_PROBLEM), _PROBLEM)
)


class _HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on the size and the number of header lines."""

    def connection_made(self, transport: Any) -> None:
        self._head_bytes = 0
        self._in_head = True
        self._too_many = False
        self._refused = False
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        # Feed the head at most MAX_HEAD_BYTES; what follows the head (a body) is fed as it comes.
        while self._in_head and data and not self._refused:
            room = MAX_HEAD_BYTES - self._head_bytes
            if room <= 0:
                self._refuse()
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)
        if data and not self._refused:
            super().data_received(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            self._too_many = True
            raise _HeadTooLarge  # httptools stops parsing; uvicorn answers through send_400_response
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0  # the next request on this connection

    def send_400_response(self, msg: str) -> None:
        if self._too_many:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        self._refused = True
        if not self.transport.is_closing():
            self.transport.write(_431)
            self.transport.close()


def uvicorn_limits() -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.run`` that bound request heads."""
    return {
        "http": "api.server:BoundedHttpToolsProtocol",
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
    }
