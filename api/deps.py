"""The API's dependencies, the FastAPI way: ``Annotated`` types a handler names in its signature.

``EngineDep`` and ``SettingsDep`` are what ``create_app`` decided once (``app.state``). ``UnitOfWork`` is
the request's transaction: one connection, begun when the handler is called and committed when it
returns — before the response is sent (``scope="function"``), so a client never hears of a write that
did not commit — or rolled back when it raises. The handlers that keep their own transaction say why
where they open it (the look-up's fast path, an audited 404, statistics under REPEATABLE READ, a batch
poll that commits before it queues a resume, and uploads, whose transactions belong to intake).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from register.settings import Settings


# Async, though they do no I/O: FastAPI runs a plain function on the thread pool, a hop per request.
async def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


EngineDep = Annotated[Engine, Depends(engine_of)]
SettingsDep = Annotated[Settings, Depends(settings_of)]


def transaction(engine: EngineDep) -> Iterator[Connection]:
    with engine.begin() as conn:
        yield conn


UnitOfWork = Annotated[Connection, Depends(transaction, scope="function")]
