"""The benchmark's server: the production app plus one bare endpoint, the look-up's ceiling.

``POST /bench/constant/{size}`` answers every request with the same pre-encoded JSON body of ``size``
bytes — no authentication, no database, no validation — so its requests per second are what this
server, this machine and this load generator can do at all. It exists only in this app (built by
``create_bench_app``), never in the production routes of ``api.app.create_app``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from api.app import create_app

MAX_CONSTANT_BYTES = 8 * 1024 * 1024


def constant_body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (at least the 15 of the smallest one)."""
    frame = b'{"padding":""}'
    return b'{"padding":"' + b"x" * max(0, size - len(frame)) + b'"}'


def create_bench_app() -> FastAPI:
    app = create_app()
    bodies: dict[int, bytes] = {}

    @app.post("/bench/constant/{size}", include_in_schema=False)
    async def constant(size: int, request: Request) -> Response:
        await request.body()  # read the request as the look-up does, then answer without work
        size = max(0, min(size, MAX_CONSTANT_BYTES))
        body = bodies.get(size)
        if body is None:
            body = bodies[size] = constant_body(size)
        return Response(content=body, media_type="application/json")

    return app
