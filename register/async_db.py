"""Asynchronous database connections for the request paths that run on the event loop (the look-up).

A small pool of psycopg ``AsyncConnection``s, with the same rules as the engine's (register/database.py):
connections are opened when a request needs one (``connect_timeout`` 5 s), a request waits at most
``timeout`` for a free one (then ``PoolTimeout``, answered 503), and a broken connection is dropped
when it comes back. What differs is the pre-ping: the engine pings every connection it hands out, a
round trip per request; here only a connection that sat idle for ``ping_after`` seconds is pinged —
under load connections never idle that long, and after a database restart the first request finds
the dead ones out before it uses them.

Not psycopg_pool: its connections are opened by background tasks that back off (1 s, 2 s, 4 s …) after
a failed attempt, so the first look-up after a database restart waits for the pool's schedule instead of
opening a connection itself (tests/reliability/test_database_restart.py asks for the latter).

Connections are in autocommit: a read is one statement and needs no ``BEGIN``; a writer that needs a
transaction opens one (``conn.transaction()``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import TypeVar

import psycopg
from psycopg import AsyncConnection

T = TypeVar("T")


class PoolTimeout(psycopg.OperationalError):
    """No connection came free within the pool's timeout (an OperationalError: the API answers 503)."""


class AsyncPool:
    def __init__(
        self,
        conninfo: str,
        *,
        size: int,
        timeout: float = 5.0,
        ping_after: float = 1.0,
        application_name: str = "kompetanseregisteret",
        configure: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> None:
        self._configure = configure
        self._conninfo = conninfo
        self._size = size
        self._timeout = timeout
        self._ping_after = ping_after
        self._application_name = application_name
        self._idle: list[tuple[AsyncConnection, float]] = []  # LIFO: the warmest connection first
        self._open = 0  # connections handed out or idle, or being opened
        self._freed = asyncio.Condition()
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        conn = await self._get()
        try:
            yield conn
        finally:
            await self._put(conn)

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work`` on a pooled connection; once more on a new connection if the pooled one turns out
        dead — a database restarted less than ``ping_after`` ago, so it was handed out unpinged (its
        idle companions are dropped too: they died with it). ``work`` must be safe to run again after
        a broken connection: a read, or a write whose answer waits for its commit."""
        used: AsyncConnection | None = None
        try:
            async with self.connection() as used:
                return await work(used)
        except psycopg.OperationalError:
            if used is None or not used.closed:
                raise  # no connection to be had (PoolTimeout, the database down), or a live one failed
        async with self.connection() as conn:
            return await work(conn)

    async def _get(self) -> AsyncConnection:
        deadline = time.monotonic() + self._timeout
        while True:
            if self._closed:
                raise PoolTimeout("the pool is closed")
            while self._idle:
                conn, since = self._idle.pop()
                if time.monotonic() - since < self._ping_after or await self._alive(conn):
                    return conn
                await self._discard(conn)
            if self._open < self._size:
                self._open += 1
                try:
                    conn = await AsyncConnection.connect(
                        self._conninfo,
                        autocommit=True,
                        connect_timeout=5,
                        application_name=self._application_name,
                    )
                    if self._configure is not None:
                        await self._configure(conn)
                    return conn
                except BaseException:
                    self._open -= 1
                    raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PoolTimeout(f"no database connection came free within {self._timeout:g} s")
            async with self._freed:
                # The predicate is checked under the condition's lock before waiting: a connection given
                # back between the checks above and this wait is not missed.
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._freed.wait_for(self._available), remaining)

    def _available(self) -> bool:
        return bool(self._idle) or self._open < self._size or self._closed

    async def _put(self, conn: AsyncConnection) -> None:
        # A connection left in a transaction or broken is not given to the next request.
        if conn.closed:
            await self._discard(conn)
            dead, self._idle = self._idle, []  # the others idle may have died with it (a restart)
            for other, _ in dead:
                await self._discard(other)
        elif self._closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            await self._discard(conn)
        else:
            self._idle.append((conn, time.monotonic()))
        async with self._freed:
            self._freed.notify()

    async def _alive(self, conn: AsyncConnection) -> bool:
        try:
            await conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    async def _discard(self, conn: AsyncConnection) -> None:
        self._open -= 1
        with suppress(psycopg.Error):
            await conn.close()

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await self._discard(conn)
