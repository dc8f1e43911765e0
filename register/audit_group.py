"""Group commit of audit rows: the look-ups waiting at one moment share one transaction and one WAL flush.

Every look-up gives out person data only after its audit row is durable. Written one transaction per
look-up (``audit.record_event(commit=True)``), 32 concurrent look-ups were 32 commits, each waiting for
its own WAL flush, and look-ups of the same chain waited for each other's flush under the chain's lock
(at 1 M persons the database's sessions waited on ``LWLock/WALWrite`` 2.0 and ``Lock/advisory`` 0.3 of
the time on average, docs/performance.md). ``AuditGroupWriter`` — one per process and event loop —
appends the rows of every look-up waiting when the previous group's commit returns, in one transaction:
the locks of the group's chains in chain order (so groups of several processes never deadlock), the
appends (each chain's rows in the order their look-ups asked), the commit — one message, one round
trip and one flush — and then wakes them all.

The guarantee is the same as one transaction per look-up: ``append`` returns only after the commit of
its row has returned (with ``synchronous_commit`` on for the connection, ``configure_durable``), and
raises ``AuditNotWritten`` — for every look-up of the group — when the commit did not happen or its
outcome is unknown; the caller then gives out nothing. Rows are the same as ``record_event`` writes
(same columns, hashes chained in SQL under the lock from the same canonical halves), so ``register
audit verify`` and the signed checkpoints see no difference.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import psycopg
from psycopg import AsyncConnection

from register.async_db import AsyncPool
from register.audit import GENESIS
from register.locks import LockKey

#: Rows per transaction at most: at 32 concurrent look-ups a group is ~2–16 rows; the bound keeps a
#: burst of thousands from holding every chain's lock for one long transaction.
MAX_GROUP_ROWS = 256
#: A group that meets a deadlock (another transaction took two chain locks in the other order, e.g. a
#: GraphQL query about two persons) was rolled back whole and is written again.
DEADLOCK_ATTEMPTS = 3


#: The group's chain locks in one statement, in the order of the (sorted) array: unnest yields its
#: elements in order and the aggregate takes each lock as its row comes.
_LOCKS = "SELECT count(pg_advisory_xact_lock(%(k)s, c)) FROM unnest(%(chains)s::int[]) AS c"


class AuditNotWritten(Exception):
    """The audit rows of a group were not committed (or it is unknown whether they were): the data
    they stand for must not be given out. ``unavailable``: the database could not be reached."""

    def __init__(self, unavailable: bool) -> None:
        super().__init__("the audit rows could not be written")
        self.unavailable = unavailable


async def configure_durable(conn: AsyncConnection) -> None:
    """Audit rows are never committed with ``synchronous_commit`` off or local, whatever the server's or
    the role's default: a row lost in a crash after its data was given out is a read nobody can see."""
    cursor = await conn.execute("SHOW synchronous_commit")
    row = await cursor.fetchone()
    if row is None or row[0] in ("off", "local"):
        await conn.execute("SET synchronous_commit = on")


class AuditGroupWriter:
    def __init__(self, pool: AsyncPool, *, max_rows: int = MAX_GROUP_ROWS) -> None:
        self._pool = pool
        self._max_rows = max_rows
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[int]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def append(self, values: dict[str, Any]) -> int:
        """Append one event (``audit.event_values``) and return its id once its commit has returned."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((values, done))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_groups())
        # shield: a request cancelled while it waits (its client went away) leaves the group intact.
        return await asyncio.shield(done)

    async def _write_groups(self) -> None:
        # No waiting for company: a group is whatever arrived while the previous one was committing,
        # so a look-up alone is written at once and under load groups grow with the flush time.
        while self._waiting:
            group, self._waiting = self._waiting[: self._max_rows], self._waiting[self._max_rows :]
            try:
                ids = await self._write(group)
            except Exception as exc:
                unavailable = isinstance(exc, psycopg.OperationalError)
                for _, done in group:
                    if not done.done():
                        failure = AuditNotWritten(unavailable)
                        failure.__cause__ = exc
                        done.set_exception(failure)
            else:
                for (_, done), new_id in zip(group, ids, strict=True):
                    if not done.done():
                        done.set_result(new_id)

    async def _write(self, group: list[tuple[dict[str, Any], asyncio.Future[int]]]) -> list[int]:
        rows = [values for values, _ in group]
        locks = {"k": LockKey.AUDIT_CHAIN, "chains": sorted({v["chain"] for v in rows})}
        for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
            try:
                # Written again on a new connection if the pooled one was dead before it was used: the
                # look-ups are still waiting for a commit, so none gives out data in between.
                return await self._pool.run(lambda conn: _append_and_commit(conn, locks, rows))
            except psycopg.errors.DeadlockDetected:
                if attempt == DEADLOCK_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")


async def _append_and_commit(
    conn: AsyncConnection, locks: dict[str, Any], rows: list[dict[str, Any]]
) -> list[int]:
    # One message, one round trip: the statements of a simple query run one after the other in one
    # implicit transaction, committed when the last is done (rolled back whole if one fails) — with no
    # turn of the client in between, so the chains' locks are held for the server's work and the flush
    # only. (A pipeline of bound statements, tried first, sends one statement per turn of the event loop,
    # and under load the other requests' work ran in each turn while the group held its locks.) So the
    # parameters are bound here, by psycopg's client-side quoting (``mogrify``); what they hold is the
    # audit row itself, never a national id.
    #
    # One statement appends a row to each chain of a "round" (a chain's first row of the group, then its
    # second, …): each reads its chain's last hash when it starts — after the locks, and after the
    # earlier rounds — as record_event's append does. Groups are a handful to a few dozen rows over 64
    # chains, so one or two rounds.
    rounds: list[list[int]] = []  # indexes into rows, per round
    seen: dict[int, int] = {}
    for index, values in enumerate(rows):
        position = seen[values["chain"]] = seen.get(values["chain"], -1) + 1
        if position == len(rounds):
            rounds.append([])
        rounds[position].append(index)
    ids = [0] * len(rows)
    async with psycopg.AsyncClientCursor(conn) as cursor:
        statements = [cursor.mogrify(_LOCKS, locks)]
        statements += [
            cursor.mogrify(
                _APPEND_ROUND, {"rows": _rows_json([rows[i] for i in members]), "genesis": GENESIS}
            )
            for members in rounds
        ]
        await cursor.execute(";\n".join(statements))
        for members in rounds:
            cursor.nextset()
            by_chain = {chain: new_id for new_id, chain in await cursor.fetchall()}
            for i in members:
                ids[i] = int(by_chain[rows[i]["chain"]])
    return ids


#: A round's row as ``_rows_json`` sends it and ``_APPEND_ROUND`` reads it back (``json_to_recordset``):
#: the fields of ``audit.event_values`` that go into the row, with their SQL types — named once for both.
_ROW = {"chain": "int", "occurred_at": "timestamptz", "request_id": "text", "client_id": "text",
        "organisation": "text", "scope": "text", "person_id": "uuid", "action": "text", "details": "jsonb",
        "head": "text", "tail": "text"}  # fmt: skip


def _rows_json(rows: list[dict[str, Any]]) -> str:
    """The rows of a round (``audit.event_values``) as one JSON array, the one parameter of
    ``_APPEND_ROUND``.

    One text value quoted once, not eleven arrays: psycopg's client-side array quoting escapes every
    element in Python, and for a group's details and canonical halves (a few kilobytes a row) that was a
    tenth of a look-up worker's CPU (docs/performance.md, "The audit group's parameters"). The details
    go in as the JSON text ``event_values`` made.
    """
    return orjson.dumps(
        [{name: v[name] for name in _ROW} | {"details": orjson.Fragment(v["details"])} for v in rows]
    ).decode()


_ROW_DEFINITION = ", ".join(f"{name} {sql_type}" for name, sql_type in _ROW.items())

#: audit.APPEND for several rows of different chains at once (the same columns, hash and previous hash).
_APPEND_ROUND = f"""
INSERT INTO audit_event (chain, occurred_at, request_id, client_id, organisation, scope, person_id, action,
                         details, prev_hash, hash)
SELECT r.chain, r.occurred_at, r.request_id, r.client_id, r.organisation, r.scope, r.person_id, r.action,
       r.details, prev.hash, encode(sha256(convert_to(r.head || prev.hash || r.tail, 'UTF8')), 'hex')
FROM json_to_recordset(%(rows)s::json)
     AS r({_ROW_DEFINITION})
CROSS JOIN LATERAL (
    SELECT coalesce((SELECT hash FROM audit_event WHERE chain = r.chain ORDER BY id DESC LIMIT 1),
                    %(genesis)s) AS hash
) AS prev
RETURNING id, chain"""
