"""The keys of the register's PostgreSQL advisory locks, all in one place so that no two coincide.

An advisory lock is only a number that every process agrees on: two modules that picked the same key
would wait for each other without a trace. ``unique`` refuses a second use of a key at import.
Keys taken with a second argument (``pg_advisory_xact_lock(key, n)``) lock one thing of a kind: the
organisation's id, the audit chain, the batch id's hash.
"""

from __future__ import annotations

import enum


@enum.unique
class LockKey(enum.IntEnum):
    INGEST_ORGANISATION = (
        7001  # (key, awarding org id): one batch writing an organisation's results at a time
    )
    BATCH = 7002  # (key, hashtext(batch id)), session-level: held by the process running the batch
    STATS_REFRESH = 7003  # (key): one refresh of the statistics roll-ups at a time
    AUDIT_CHAIN = 7004  # (key, chain): one writer of an audit chain at a time
    AUDIT_CHECKPOINT = 7005  # (key): one checkpoint writer at a time (every worker has one)
