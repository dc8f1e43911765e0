"""The event loop's own database: an asynchronous pool and the audit group writer (the JSON look-up).

Made on first use in the running loop — uvicorn runs one loop per worker process, so each process has
one pool and one group writer — and closed with the app (``api.app``'s lifespan). The connection is the
engine's database (tests hand the app an engine of their own).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from register.async_db import AsyncPool
from register.audit_group import AuditGroupWriter, configure_durable
from register.database import to_libpq


class LoopDatabase:
    def __init__(self, engine: Engine, *, pool_size: int) -> None:
        self._conninfo = to_libpq(engine.url.render_as_string(hide_password=False))
        self._pool_size = pool_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: AsyncPool | None = None
        self._audit: AuditGroupWriter | None = None

    def _ready(self) -> tuple[AsyncPool, AuditGroupWriter]:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._audit is None or self._loop is not loop:
            # A pool belongs to one loop; a new loop (an app served without its lifespan, a test
            # client per request) gets its own.
            self._loop = loop
            self._pool = AsyncPool(self._conninfo, size=self._pool_size, configure=configure_durable)
            self._audit = AuditGroupWriter(self._pool)
        return self._pool, self._audit

    @property
    def pool(self) -> AsyncPool:
        return self._ready()[0]

    @property
    def audit(self) -> AuditGroupWriter:
        return self._ready()[1]

    async def close(self) -> None:
        if self._pool is not None and self._loop is asyncio.get_running_loop():
            await self._pool.close()
        self._pool = self._audit = self._loop = None
