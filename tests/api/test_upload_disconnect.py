"""A client that goes away in the middle of an upload is an info line, not an ERROR with a traceback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from tests.api.conftest import WRITE, Token


def _run(app: FastAPI, headers: list[tuple[bytes, bytes]], start: bytes) -> list[dict[str, Any]]:
    """POST /v1/batches through the ASGI app; the client sends 64 KiB of a body and disconnects."""
    messages = iter(
        [
            {"type": "http.request", "body": start + b"x" * 65_536, "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/batches",
        "raw_path": b"/v1/batches",
        "query_string": b"sector=vocational",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))  # before the fix: the exception came out of the app
    return sent


@pytest.mark.parametrize("content_type", [b"text/csv", b"multipart/form-data; boundary=b"])
def test_a_client_disconnect_mid_upload_is_one_info_line(
    app: FastAPI,
    token: Token,
    orgs: dict[str, str],
    db: Engine,
    caplog: pytest.LogCaptureFixture,
    content_type: bytes,
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = [
        (b"authorization", f"Bearer {token(orgs['own'], WRITE)}".encode()),
        (b"content-type", content_type),
        (b"content-length", b"200000"),  # declared, under the limit, never sent in full
    ]
    form = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n'
    _run(app, headers, (form if content_type.startswith(b"multipart") else b"") + b"fodselsnummer;fornavn\n")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    disconnects = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(disconnects) == 1 and disconnects[0].levelno == logging.INFO
    with db.connect() as conn:  # nothing was received, so nothing is stored
        assert conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one() == 0
