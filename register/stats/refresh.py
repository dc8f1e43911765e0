"""Keeping the summary tables current: pending persons marked by the ingest, refreshed after the commit
(see the package docstring), and the full rebuild the incremental path must agree with."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from register import disclosure
from register.locks import LockKey
from register.stats.cube import (
    CELL_COLUMNS,
    CELL_KEY_COLUMNS,
    CREDIT_COLUMNS,
    PERSON_CELLS_INSERT,
    SUMMED,
    cube_select,
    modulo,
)


def mark_batch_pending(connection: Connection, batch_id: uuid.UUID) -> None:
    """Mark the persons batch ``batch_id`` touched as pending a refresh (in the batch's transaction)."""
    connection.execute(
        text(
            """INSERT INTO stats_pending (person_id)
               SELECT person_id FROM achievement WHERE batch_id = :batch
               UNION
               SELECT v.person_id FROM achievement a
               JOIN achievement_version v ON v.achievement_id = a.id AND v.version = a.version - 1
               WHERE a.batch_id = :batch
               ORDER BY 1  -- one order for every batch: concurrent batches wait, never deadlock
               -- Not DO NOTHING: a refresh may claim the existing row before this batch commits, and
               -- count the person without this batch. Updating the row locks it, so that refresh
               -- waits for this commit (and then sees the batch), or this insert waits for its claim.
               ON CONFLICT (person_id) DO UPDATE SET person_id = excluded.person_id"""
        ),
        {"batch": batch_id},
    )


def refresh_persons(connection: Connection, person_ids: Sequence[uuid.UUID]) -> None:
    """Recompute the contribution of these persons now, in the caller's transaction (a withdrawal)."""
    if person_ids:
        _lock(connection)
        _refresh(connection, "SELECT unnest(CAST(:ids AS uuid[]))", {"ids": list(person_ids)})
        bump_version(connection)


@dataclass(frozen=True, slots=True)
class RefreshReport:
    persons: int  # recomputed
    rounds: int  # transactions it took
    skipped: bool = False  # another refresh was running and will take what is pending


def refresh_pending(engine: Engine, *, wait: bool = True, round_persons: int = 100_000) -> RefreshReport:
    """Recompute every pending person, ``round_persons`` per transaction, until none is pending.

    Refreshes are serialized by an advisory lock. ``wait=False`` returns at once (``skipped``) when
    another refresh holds it — the server's timer uses that; after an import (``wait=True``) the caller
    waits, so that the import's persons are counted when it returns.
    """
    persons = rounds = 0
    while True:
        with engine.begin() as conn:
            if (
                not wait
                and not conn.execute(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LockKey.STATS_REFRESH}
                ).scalar()
            ):
                return RefreshReport(persons, rounds, skipped=True)
            claimed = refresh_round(conn, limit=round_persons)
        if not claimed:
            return RefreshReport(persons, rounds)
        persons += claimed
        rounds += 1


def refresh_round(connection: Connection, *, limit: int | None = None) -> int:
    """Recompute up to ``limit`` pending persons in the caller's transaction; returns how many.

    The claim is part of that transaction: if it fails, the persons stay pending.
    """
    _lock(connection)
    claimed = _refresh(
        connection,
        """DELETE FROM stats_pending WHERE person_id IN (
               SELECT person_id FROM stats_pending ORDER BY person_id LIMIT :n FOR UPDATE)
           RETURNING person_id""",
        {"n": limit},  # LIMIT NULL: all of them
    )
    if claimed:
        bump_version(connection)
    return claimed


def pending_persons(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM stats_pending")).scalar_one())


def rebuild(connection: Connection) -> int:
    """Recompute both tables from all valid achievements (a back-fill; the incremental path must agree).

    Returns the number of roll-up cells."""
    _lock(connection)
    connection.execute(text("TRUNCATE stats_person_cell, stats_cell, stats_pending"))
    connection.execute(text(PERSON_CELLS_INSERT.format(persons="SELECT id FROM person")))
    connection.execute(
        text(
            f"""INSERT INTO stats_cell (rolled, {", ".join(CELL_COLUMNS)}, achievements, persons,
                                        {", ".join(CREDIT_COLUMNS.values())}, {", ".join(CELL_KEY_COLUMNS)})
                {cube_select("stats_person_cell", 1)}"""
        )
    )
    bump_version(connection)
    return int(connection.execute(text("SELECT count(*) FROM stats_cell")).scalar_one())


def _lock(conn: Connection) -> None:
    # Serialized: two refreshes touching one person must not both compute "before" from the same state.
    # Under READ COMMITTED every statement after the lock sees what the previous holder committed.
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LockKey.STATS_REFRESH})
    # The record keys need the seed, which is made with the state row (a random column default).
    conn.execute(text("INSERT INTO stats_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING"))


def bump_version(conn: Connection) -> None:
    """Move the statistics version (every cached answer goes): a refresh did, or a county changed."""
    conn.execute(
        text(
            """INSERT INTO stats_state (id, version, refreshed_at) VALUES (1, 1, now())
               ON CONFLICT (id) DO UPDATE SET version = stats_state.version + 1, refreshed_at = now()"""
        )
    )


def _refresh(conn: Connection, persons_sql: str, params: Mapping[str, Any]) -> int:
    """Subtract, recompute and add back the persons ``persons_sql`` yields (under the caller's lock).

    ``persons_sql`` is a query or a data-modifying statement with RETURNING; returns how many persons.
    """
    conn.execute(
        text(
            """CREATE TEMP TABLE IF NOT EXISTS stats_touched (person_id uuid PRIMARY KEY) ON COMMIT DROP;
               CREATE TEMP TABLE IF NOT EXISTS stats_delta (LIKE stats_cell INCLUDING DEFAULTS) ON COMMIT DROP;
               TRUNCATE stats_touched, stats_delta;"""
        )
    )
    touched_count = conn.execute(
        text(
            f"""WITH persons(p) AS ({persons_sql})
                INSERT INTO stats_touched SELECT DISTINCT p FROM persons WHERE p IS NOT NULL"""
        ),
        params,
    ).rowcount
    if not touched_count:
        return 0
    touched = "SELECT person_id FROM stats_touched"
    insert_delta = (
        f"INSERT INTO stats_delta (rolled, {', '.join(CELL_COLUMNS)}, achievements, persons, "
        f"{', '.join(CREDIT_COLUMNS.values())}, {', '.join(CELL_KEY_COLUMNS)}) "
    )
    before = f"(SELECT * FROM stats_person_cell WHERE person_id IN ({touched})) AS before"
    conn.execute(text(insert_delta + cube_select(before, -1)))
    conn.execute(text(f"DELETE FROM stats_person_cell WHERE person_id IN ({touched})"))
    conn.execute(text(PERSON_CELLS_INSERT.format(persons=touched)))
    after = f"(SELECT * FROM stats_person_cell WHERE person_id IN ({touched})) AS after"
    conn.execute(text(insert_delta + cube_select(after, 1)))

    keys = ", ".join(CELL_COLUMNS)
    sums = ", ".join([*(f"sum({c})" for c in SUMMED), *(modulo(f"sum({c})") for c in CELL_KEY_COLUMNS)])
    updates = ", ".join(
        [
            *(f"{c} = stats_cell.{c} + excluded.{c}" for c in SUMMED),
            *(
                f"{c} = mod(stats_cell.{c} + excluded.{c}, {disclosure.KEY_MODULUS})"
                for c in CELL_KEY_COLUMNS
            ),
        ]
    )
    # A person swapped for another leaves every count as it was but changes the cell's key.
    nonzero = " OR ".join(
        [*(f"sum({c}) <> 0" for c in SUMMED), *(f"{modulo(f'sum({c})')} <> 0" for c in CELL_KEY_COLUMNS)]
    )
    conn.execute(
        text(
            f"""CREATE TEMP TABLE IF NOT EXISTS stats_emptied (id bigint) ON COMMIT DROP;
                TRUNCATE stats_emptied;
                WITH applied AS (
                    INSERT INTO stats_cell (rolled, {keys}, achievements, persons,
                                            {", ".join(CREDIT_COLUMNS.values())}, {", ".join(CELL_KEY_COLUMNS)})
                    SELECT rolled, {keys}, {sums} FROM stats_delta GROUP BY rolled, {keys}
                    HAVING {nonzero}
                    -- one order for every writer, so concurrent refreshes cannot deadlock on cells
                    ORDER BY rolled, {keys}
                    ON CONFLICT (rolled, {keys}) DO UPDATE SET {updates}
                    RETURNING id, persons
                )
                INSERT INTO stats_emptied SELECT id FROM applied WHERE persons = 0;
                DELETE FROM stats_cell WHERE id IN (SELECT id FROM stats_emptied);"""
        )
    )
    return touched_count
