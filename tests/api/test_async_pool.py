"""The event loop's connection pool (register/async_db.py) against the real database."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from register.async_db import AsyncPool, PoolTimeout


async def _backend_pid(pool: AsyncPool) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        return int(row[0])


def test_a_waiting_request_gets_the_connection_given_back(database_url: str) -> None:
    """One connection, two requests: the second waits, then gets the same connection when the first
    gives it back (not a new one, and not only at the pool's timeout)."""

    async def go() -> tuple[int, int, bool]:
        pool = AsyncPool(database_url, size=1, timeout=60)
        try:
            async with pool.connection() as conn:
                row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
                assert row is not None
                waiter = asyncio.ensure_future(_backend_pid(pool))
                await asyncio.sleep(0.2)
                waited = not waiter.done()
            return int(row[0]), await asyncio.wait_for(waiter, 30), waited
        finally:
            await pool.close()

    first, second, waited = asyncio.run(go())
    assert waited and first == second


def test_no_connection_free_within_the_timeout_is_a_pool_timeout(database_url: str) -> None:
    async def go() -> None:
        pool = AsyncPool(database_url, size=1, timeout=0.3)
        try:
            async with pool.connection():
                await _backend_pid(pool)
        finally:
            await pool.close()

    with pytest.raises(PoolTimeout):
        asyncio.run(go())


def test_a_broken_connection_is_not_given_out_again(database_url: str) -> None:
    """A connection whose server session ended is dropped when it comes back; the next request gets a
    new one that works."""

    async def go() -> tuple[int, int]:
        pool = AsyncPool(database_url, size=2)
        try:
            async with pool.connection() as conn:
                row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
                assert row is not None
                with pytest.raises(Exception):  # noqa: B017 - the session is terminated under it
                    await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            return int(row[0]), await _backend_pid(pool)
        finally:
            await pool.close()

    gone, new = asyncio.run(go())
    assert gone != new


def test_run_replaces_a_connection_that_died_while_idle(database_url: str) -> None:
    """The database ended the idle sessions (a restart) within ``ping_after``, so the pool hands one out
    unpinged: ``run`` does the work again on a new connection, and the other dead one is dropped too."""

    async def pid_of(conn: psycopg.AsyncConnection) -> int:
        row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        return int(row[0])

    async def go() -> tuple[set[int], int, int]:
        pool = AsyncPool(database_url, size=3, ping_after=3600)
        try:
            async with pool.connection() as one, pool.connection() as two:
                before = {await pid_of(one), await pid_of(two)}
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
                for pid in before:
                    await admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            after = await pool.run(pid_of)
            return before, after, await pool.run(pid_of)
        finally:
            await pool.close()

    before, after, again = asyncio.run(go())
    assert after not in before and again == after
