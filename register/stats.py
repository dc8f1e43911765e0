"""Aggregates for analysts: summary tables kept current by ingest, and suppression of small counts.

Two tables (see ``register.models.stats``): ``stats_person_cell`` (per person and finest cell) and
``stats_cell`` (the kept roll-ups of the seven dimensions, see below, with exact distinct-person counts).

Keeping them current, in two steps. (1) The ingest calls ``mark_batch_pending`` inside the batch's
transaction: the persons the batch touched (by the achievements it wrote, and by the earlier version of
those it changed, since a corrected record may move to another person) go into ``stats_pending``. That
is one cheap INSERT, so the import costs what the ingest costs. (2) ``refresh_pending`` runs in a
transaction of its own, after the import commits (``REGISTER_STATS_REFRESH=after_import``, the default)
or every few seconds in the server (``background``): it takes the pending persons out, subtracts their
old contribution from every roll-up, recomputes their finest cells from their achievements and adds
the new contribution — a person counts once in each roll-up cell they have any achievement in, so
subtracting and adding whole persons keeps distinct counts exact. A person touched by many batches
before a refresh is recomputed once. All of it is set-based SQL over the pending persons only; the
cost follows the deliveries, not the register. If a refresh fails, its persons stay pending (the
transaction rolls back) and the next refresh takes them: nothing is lost, the aggregates only lag.

Each refresh that changed something bumps ``stats_state.version``; ``statistics_version`` reads it, so
the API caches answers until it moves.

Which roll-ups are kept: all 32 combinations of the five dimensions analysts group by most and whose
values are few — sector, year, provider, level, field (``MATERIALIZED``). The other two, NUS code and
grade, have many values each; every roll-up that keeps them multiplies the cells (at 3 000 persons
the full cube of 128 roll-ups was 740 000 cells and 7 s to build, these 32 are 30 000 cells and under
1 s), and the cube's size follows the persons, so at national scale it could not be kept current.

Answering: ``achievement_stats`` reads exactly one roll-up level: the one that keeps the grouped and
the filtered dimensions — from ``stats_cell`` when it is kept there (one index scan), otherwise
computed on demand from ``stats_person_cell`` in one aggregate (exact as well: a scan of the person
cells, so slower; the API caches every answer until the next refresh). Filters are equalities, on
purpose: a filter that spans several values would have to add cells together, and distinct persons do
not add up.

Suppression: a cell with fewer persons than the threshold is suppressed (primary). Then, in every
line of the table (the cells that differ in one grouped dimension only, whose sum is the margin an
analyst can ask for separately), a line holding exactly one suppressed cell gets its smallest other
cell suppressed too (secondary), repeated until no line has a lone suppressed cell — so no suppressed
value can be recovered by subtracting the others from the margin. Suppression is decided on the
whole table before filters are applied, so a filtered view never shows what the unfiltered view hides.

Suppression per table does not hold against an analyst who combines tables (one table's margin minus
another's inner cells), so every figure is also perturbed by the cell-key method
(``register.disclosure``): the refresh keeps, beside the counts, the sums of the record keys of each
cell's persons and achievements (``person_key``, ``achievement_key``), and the answer turns them into
noise that is the same for the same contributors in every table. A cell is suppressed when its true or
its perturbed number of persons is under the threshold.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

from psycopg.errors import QueryCanceled
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from register import disclosure
from register.errors import InvalidInput
from register.grading import CreditScheme
from register.locks import LockKey

#: the largest table (of grouped and filtered dimensions) an analyst's query may span
MAX_TABLE_CELLS = 50_000
V = TypeVar("V")

#: analyst-facing dimension name → stats_cell column(s); the order fixes the bits of ``rolled``
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "sector": ("sector",),
    "year": ("year",),
    "provider": ("provider_id",),
    "level": ("level",),
    "field": ("field",),
    "nus": ("nus",),
    "grade": ("grade_scheme", "grade_value"),
}
#: the dimensions whose every combination is kept in ``stats_cell`` (the others are computed on demand);
#: they lead ``DIMENSIONS``, so their GROUPING() bits are the high bits of ``rolled``
MATERIALIZED = ("sector", "year", "provider", "level", "field")
assert tuple(DIMENSIONS)[: len(MATERIALIZED)] == MATERIALIZED
_KEY_COLUMNS = tuple(c for cols in DIMENSIONS.values() for c in cols)
_CREDIT_COLUMNS = {scheme.value: f"credits_{scheme.value}" for scheme in CreditScheme}
#: the cell keys of the cell-key method (``register.disclosure``): sums of record keys modulo 2³²
_CELL_KEY_COLUMNS = ("person_key", "achievement_key")
_SUMMED = ("achievements", "persons", *_CREDIT_COLUMNS.values())
_M = disclosure.KEY_MODULUS


def _modulo(expression: str) -> str:
    """``expression`` reduced to 0 ≤ … < 2³² (SQL's mod keeps the sign of a negative sum)."""
    return f"CAST(mod(mod({expression}, {_M}) + {_M}, {_M}) AS bigint)"


_CUBE = ", ".join(DIMENSIONS[d][0] for d in MATERIALIZED)
# GROUPING() bits of the kept roll-ups, moved up past the always-rolled dimensions after them
_ALWAYS_ROLLED = len(DIMENSIONS) - len(MATERIALIZED)
_GROUPING = f"(GROUPING({_CUBE}) << {_ALWAYS_ROLLED}) | {(1 << _ALWAYS_ROLLED) - 1}"
_NUMERIC_KEYS = {"year": "smallint", "provider_id": "integer"}  # the other key columns are text
_CUBE_KEYS = ", ".join(c if d in MATERIALIZED else "NULL" for d, cols in DIMENSIONS.items() for c in cols)


def rolled_mask(kept: set[str]) -> int:
    """The ``rolled`` value of the roll-up that keeps ``kept``: SQL GROUPING() bits, first dimension highest."""
    names = list(DIMENSIONS)
    mask = 0
    for i, name in enumerate(names):
        if name not in kept:
            mask |= 1 << (len(names) - 1 - i)
    return mask


# --- keeping the tables current -------------------------------------------------------------------


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
        _bump_version(connection)


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
        _bump_version(connection)
    return claimed


def pending_persons(connection: Connection) -> int:
    return int(connection.execute(text("SELECT count(*) FROM stats_pending")).scalar_one())


def statistics_version(connection: Connection) -> str:
    """Changes whenever the roll-ups do: the refresh count and the time of the last refresh.

    The time makes it unique even where the count starts again (a database emptied and filled anew).
    """
    row = connection.execute(text("SELECT version, refreshed_at FROM stats_state")).one_or_none()
    if row is None or row.refreshed_at is None:
        return "0"
    return f"{row.version}@{row.refreshed_at.isoformat()}"


def cached_answer(
    connection: Connection, cache: VersionedCache[V], key: Hashable, compute: Callable[[], V]
) -> V:
    """The answer for ``key`` from ``cache`` if the roll-ups have not changed since, else ``compute()``d.

    Run it in a REPEATABLE READ transaction, so that the version and what ``compute`` reads are one
    snapshot (a refresh committing in between cannot file new cells under the old version).
    """
    version = statistics_version(connection)
    answer = cache.get(key, version)
    if answer is None:
        answer = compute()
        cache.put(key, version, answer)
    return answer


class VersionedCache(Generic[V]):
    """Answers keyed by request, valid for one statistics version; least recently used go first.

    Bounded by ``max_weight`` (the caller says what a value weighs, e.g. its bytes), so a burst of
    large tables cannot grow the process. Thread-safe: the API answers from a thread pool.
    """

    def __init__(self, max_weight: int, weigh: Callable[[V], int]) -> None:
        self._max_weight = max_weight
        self._weigh = weigh
        self._entries: OrderedDict[Hashable, tuple[str, V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: str) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, version: str, value: V) -> None:
        weight = self._weigh(value)
        if weight > self._max_weight:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[2]
            self._entries[key] = (version, value, weight)
            self._weight += weight
            while self._weight > self._max_weight:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped


def rebuild(connection: Connection) -> int:
    """Recompute both tables from all valid achievements (a back-fill; the incremental path must agree).

    Returns the number of roll-up cells."""
    _lock(connection)
    connection.execute(text("TRUNCATE stats_person_cell, stats_cell, stats_pending"))
    connection.execute(text(_PERSON_CELLS_INSERT.format(persons="SELECT id FROM person")))
    connection.execute(
        text(
            f"""INSERT INTO stats_cell (rolled, {", ".join(_KEY_COLUMNS)}, achievements, persons,
                                        {", ".join(_CREDIT_COLUMNS.values())}, {", ".join(_CELL_KEY_COLUMNS)})
                {_cube_select("stats_person_cell", 1)}"""
        )
    )
    _bump_version(connection)
    return int(connection.execute(text("SELECT count(*) FROM stats_cell")).scalar_one())


_PERSON_CELLS_INSERT = """
    INSERT INTO stats_person_cell (person_id, sector, year, provider_id, level, field, nus, grade_scheme,
                                   grade_value, achievements, credits_ects, credits_fagskolepoeng, credits_hours,
                                   person_key, achievement_key)
    SELECT a.person_id, a.sector, a.year, a.awarding_org_id,
           -- the level: NKR where known (5.1 and 5.2 differ), else the EQF level the specification gives
           coalesce(s.nkr_level, 'EQF ' || s.eqf_level), s.iscedf_code, s.nus_code,
           a.grade_scheme, a.grade_value, count(*),
           -- credits earned: a result explicitly not passed earns none, whatever it carries
           coalesce(sum(a.credits) FILTER (WHERE a.credit_scheme = 'ects' AND a.grade_passed IS NOT FALSE), 0),
           coalesce(sum(a.credits) FILTER (WHERE a.credit_scheme = 'fagskolepoeng'
                                           AND a.grade_passed IS NOT FALSE), 0),
           coalesce(sum(a.credits) FILTER (WHERE a.credit_scheme = 'hours' AND a.grade_passed IS NOT FALSE), 0),
           -- the record keys of the cell-key method (register.disclosure): fixed per person and per
           -- achievement by the secret seed, so a recomputed person brings back the keys it took away
           hashtextextended(CAST(a.person_id AS text), k.key_seed),
           {achievement_keys}
    FROM achievement a JOIN learning_specification s ON s.id = a.specification_id
    CROSS JOIN stats_state k
    WHERE a.status = 'valid' AND a.person_id IN ({persons})
    GROUP BY a.person_id, a.sector, a.year, a.awarding_org_id, 5, s.iscedf_code, s.nus_code,
             a.grade_scheme, a.grade_value, k.key_seed
""".replace("{achievement_keys}", _modulo("sum(hashtextextended(CAST(a.id AS text), k.key_seed))"))


def _cube_select(source: str, sign: int) -> str:
    """Every kept roll-up of ``source`` (person cells), counts multiplied by ``sign``."""
    credits = ", ".join(f"{sign} * sum({col})" for col in _CREDIT_COLUMNS.values())
    # A person counts once per cell, so their key does too: record keys are 64-bit hashes, distinct
    # per person (two persons share one with probability ~3e-8 at 1 M persons; it would only change
    # the noise of cells holding both), so DISTINCT is per person.
    return f"""SELECT {_GROUPING}, {_CUBE_KEYS}, {sign} * sum(achievements),
                      {sign} * count(DISTINCT person_id), {credits},
                      {sign} * {_modulo("sum(DISTINCT person_key)")}, {sign} * {_modulo("sum(achievement_key)")}
               FROM {source} GROUP BY CUBE ({_CUBE})
               HAVING count(*) > 0"""  # the empty grouping set yields a row even over no rows


def _on_demand_select(kept: Sequence[str]) -> str:
    """One roll-up that ``stats_cell`` does not keep, computed from the person cells (same columns)."""
    columns = [c for d in kept for c in DIMENSIONS[d]]
    keys = ", ".join(
        c if c in columns else f"CAST(NULL AS {_NUMERIC_KEYS.get(c, 'text')}) AS {c}" for c in _KEY_COLUMNS
    )
    credits = ", ".join(f"sum({col}) AS {col}" for col in _CREDIT_COLUMNS.values())
    group = f"GROUP BY {', '.join(columns)}" if columns else "HAVING count(*) > 0"
    return f"""SELECT :rolled AS rolled, {keys}, sum(achievements) AS achievements,
                      count(DISTINCT person_id) AS persons, {credits},
                      {_modulo("sum(DISTINCT person_key)")} AS person_key,
                      {_modulo("sum(achievement_key)")} AS achievement_key
               FROM stats_person_cell {group}"""


def _lock(conn: Connection) -> None:
    # Serialized: two refreshes touching one person must not both compute "before" from the same state.
    # Under READ COMMITTED every statement after the lock sees what the previous holder committed.
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LockKey.STATS_REFRESH})
    # The record keys need the seed, which is made with the state row (a random column default).
    conn.execute(text("INSERT INTO stats_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING"))


def _bump_version(conn: Connection) -> None:
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
        f"INSERT INTO stats_delta (rolled, {', '.join(_KEY_COLUMNS)}, achievements, persons, "
        f"{', '.join(_CREDIT_COLUMNS.values())}, {', '.join(_CELL_KEY_COLUMNS)}) "
    )
    before = f"(SELECT * FROM stats_person_cell WHERE person_id IN ({touched})) AS before"
    conn.execute(text(insert_delta + _cube_select(before, -1)))
    conn.execute(text(f"DELETE FROM stats_person_cell WHERE person_id IN ({touched})"))
    conn.execute(text(_PERSON_CELLS_INSERT.format(persons=touched)))
    after = f"(SELECT * FROM stats_person_cell WHERE person_id IN ({touched})) AS after"
    conn.execute(text(insert_delta + _cube_select(after, 1)))

    keys = ", ".join(_KEY_COLUMNS)
    sums = ", ".join([*(f"sum({c})" for c in _SUMMED), *(_modulo(f"sum({c})") for c in _CELL_KEY_COLUMNS)])
    updates = ", ".join(
        [
            *(f"{c} = stats_cell.{c} + excluded.{c}" for c in _SUMMED),
            *(f"{c} = mod(stats_cell.{c} + excluded.{c}, {_M})" for c in _CELL_KEY_COLUMNS),
        ]
    )
    # A person swapped for another leaves every count as it was but changes the cell's key.
    nonzero = " OR ".join(
        [*(f"sum({c}) <> 0" for c in _SUMMED), *(f"{_modulo(f'sum({c})')} <> 0" for c in _CELL_KEY_COLUMNS)]
    )
    conn.execute(
        text(
            f"""CREATE TEMP TABLE IF NOT EXISTS stats_emptied (id bigint) ON COMMIT DROP;
                TRUNCATE stats_emptied;
                WITH applied AS (
                    INSERT INTO stats_cell (rolled, {keys}, achievements, persons,
                                            {", ".join(_CREDIT_COLUMNS.values())}, {", ".join(_CELL_KEY_COLUMNS)})
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


# --- answering ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProviderRef:
    orgnr: str | None
    name: str


@dataclass(slots=True)
class StatsCellView:
    """One cell. ``key`` holds the grouped dimensions' values (``None`` = not recorded)."""

    key: dict[str, Any]
    achievements: int | None
    persons: int | None
    credits: dict[str, Decimal] | None  # credit scheme → sum; never added across schemes
    suppressed: bool = False
    perturbed: bool = False  # the figures carry the cell-key noise of register.disclosure


@dataclass(frozen=True, slots=True)
class StatsResult:
    group_by: list[str]
    filters: dict[str, Any]
    threshold: int
    cells: list[StatsCellView] = field(default_factory=list)
    rule: str = disclosure.RULE  # what the figures are, told to the analyst with them


def parse_group_by(raw: str | None) -> list[str]:
    names = [part.strip() for part in (raw or "").split(",") if part.strip()]
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise InvalidInput(
            "stats.unknown_dimension",
            f"cannot group by {', '.join(unknown)}; dimensions: {', '.join(DIMENSIONS)}",
        )
    if len(set(names)) != len(names):
        raise InvalidInput("stats.repeated_dimension", "a dimension appears twice in group_by")
    return names


def achievement_stats(
    conn: Connection,
    *,
    group_by: Sequence[str],
    filters: Mapping[str, Any],
    threshold: int,
    on_demand_seconds: float = 30.0,
    exact: bool = False,
) -> StatsResult:
    """Counts, distinct persons and credits per credit scheme, grouped and filtered, with disclosure control.

    ``filters`` maps dimension names to one value each: sector/level/field/nus (text), year (int),
    provider (orgnr), grade (``scheme:value``). A table computed on demand (NUS or grade among the
    dimensions) may take ``on_demand_seconds`` at most (``stats.too_expensive`` beyond).

    Every figure is perturbed by its cell key and small cells are suppressed (``register.disclosure``).
    ``exact=True`` gives the stored figures, for the register's own checks; no API passes it.
    """
    group = list(group_by)
    active = {name: value for name, value in filters.items() if value is not None}
    unknown = [n for n in active if n not in DIMENSIONS]
    if unknown:
        raise InvalidInput("stats.unknown_dimension", f"cannot filter on {', '.join(unknown)}")
    params = _resolve_filters(conn, active)
    kept = set(group) | set(active)
    ordered = sorted(kept, key=list(DIMENSIONS).index)
    on_demand = not kept <= set(MATERIALIZED)
    if on_demand:
        # A scan of every person's cells: bounded, so one analyst cannot hold a connection for minutes.
        conn.execute(
            text("SELECT set_config('statement_timeout', :ms, true)"),
            {"ms": str(int(on_demand_seconds * 1000))},
        )
    source = (
        f"({_on_demand_select(ordered)})"
        if on_demand
        else "(SELECT * FROM stats_cell WHERE rolled = :rolled)"
    )
    try:
        rows = conn.execute(
            text(
                # In one order, always: the secondary suppression goes through the lines in the order
                # of the rows, and a table must hide the same cells every time it is asked (a scan's
                # order is not fixed: a synchronized scan starts where another one is).
                f"""SELECT c.*, o.orgnr AS provider_orgnr, o.name_nb AS provider_name
                    FROM {source} c LEFT JOIN organisation o ON o.id = c.provider_id
                    ORDER BY {", ".join(f"c.{column}" for column in _KEY_COLUMNS)}
                    LIMIT :n"""
            ),
            {"rolled": rolled_mask(kept), "n": MAX_TABLE_CELLS + 1},
        ).all()
    except DBAPIError as exc:
        if not isinstance(exc.orig, QueryCanceled):
            raise
        raise InvalidInput(
            "stats.too_expensive",
            f"a table by {', '.join(ordered)} is computed from every person's cells and took longer than"
            f" {on_demand_seconds:g} s; group and filter only by {', '.join(MATERIALIZED)} (kept ready),"
            " or by fewer dimensions",
        ) from None
    if len(rows) > MAX_TABLE_CELLS:
        # Suppression needs the whole table (filters are applied after it), so its size is bounded.
        raise InvalidInput(
            "stats.too_many_cells",
            f"grouping and filtering by {', '.join(sorted(kept))} spans more than {MAX_TABLE_CELLS} cells;"
            " group or filter by fewer dimensions",
        )
    # The table of every kept dimension (filters included), suppressed as a whole, then filtered.
    cells = [_cell(row, ordered) for row in rows]
    shown_persons = None if exact else [_perturb(cell, row) for cell, row in zip(cells, rows, strict=True)]
    _suppress(cells, ordered, threshold, shown_persons)
    selected = [
        c for c, row in zip(cells, rows, strict=True) if all(_matches(row, d, v) for d, v in params.items())
    ]
    result = StatsResult(group_by=group, filters=dict(active), threshold=threshold)
    for cell in selected:
        cell.key = {d: cell.key[d] for d in group}
        result.cells.append(cell)
    result.cells.sort(key=lambda c: [_sort_key(c.key[d]) for d in group])
    return result


def _resolve_filters(conn: Connection, active: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The filters as dimension → expected column values; orgnr and grade are resolved here."""
    resolved: dict[str, tuple[Any, ...]] = {}
    for name, value in active.items():
        if name == "provider":
            found = conn.execute(
                text("SELECT id FROM organisation WHERE orgnr = :o"), {"o": str(value)}
            ).scalar()
            resolved[name] = (found if found is not None else -1,)
        elif name == "grade":
            scheme, sep, grade = str(value).partition(":")
            if not sep:
                raise InvalidInput("stats.grade_filter", "the grade filter is SCHEME:VALUE, e.g. a-f:A")
            resolved[name] = (scheme, grade)
        elif name == "year":
            resolved[name] = (int(value),)
        else:
            resolved[name] = (str(value),)
    return resolved


def _matches(row: Any, dimension: str, expected: tuple[Any, ...]) -> bool:
    return tuple(getattr(row, col) for col in DIMENSIONS[dimension]) == expected


def _cell(row: Any, kept: Sequence[str]) -> StatsCellView:
    key: dict[str, Any] = {}
    for d in kept:
        if d == "provider":
            key[d] = (
                ProviderRef(row.provider_orgnr, row.provider_name) if row.provider_id is not None else None
            )
        elif d == "grade":
            key[d] = (row.grade_scheme, row.grade_value) if row.grade_scheme is not None else None
        else:
            key[d] = getattr(row, DIMENSIONS[d][0])
    credits = {
        scheme: getattr(row, column) for scheme, column in _CREDIT_COLUMNS.items() if getattr(row, column)
    }
    return StatsCellView(key=key, achievements=row.achievements, persons=row.persons, credits=credits)


def _perturb(cell: StatsCellView, row: Any) -> int:
    """Put the cell-key noise on ``cell``'s figures; returns the true persons (for the suppression)."""
    true_persons = int(row.persons)
    shown = disclosure.perturb(
        persons=true_persons,
        achievements=int(row.achievements),
        credits=cell.credits or {},
        person_key=int(row.person_key),
        achievement_key=int(row.achievement_key),
    )
    cell.persons, cell.achievements, cell.credits = shown.persons, shown.achievements, shown.credits
    cell.perturbed = True
    return true_persons


def _sort_key(value: Any) -> tuple[int, str]:
    if value is None:
        return (1, "")
    if isinstance(value, ProviderRef):
        return (0, value.orgnr or value.name)
    return (0, f"{value:>12}" if isinstance(value, int) else str(value))


def _suppress(
    cells: list[StatsCellView], dims: Sequence[str], threshold: int, true_persons: list[int] | None = None
) -> None:
    """Primary and secondary suppression in place (see the module docstring).

    Primary: fewer persons than the threshold, true (``true_persons``, where the cells show perturbed
    figures) or shown. The second cell of a line is chosen to add as few new lone suppressions
    elsewhere as possible (a cell whose other lines already hide something), then the smallest: fewer
    cells hidden in the end.
    """
    persons = [c.persons or 0 for c in cells] if true_persons is None else true_persons

    def hashable(value: Any) -> Any:
        return (value.orgnr, value.name) if isinstance(value, ProviderRef) else value

    keys = [tuple(hashable(c.key[d]) for d in dims) for c in cells]
    # line_of[i][m]: the line of cell m along dimension i (all its other dimensions fixed)
    line_of = [[key[:i] + key[i + 1 :] for key in keys] for i in range(len(dims))]
    members: list[dict[tuple[Any, ...], list[int]]] = [defaultdict(list) for _ in dims]
    for i in range(len(dims)):
        for m, line in enumerate(line_of[i]):
            members[i][line].append(m)
    hidden_in: list[dict[tuple[Any, ...], int]] = [defaultdict(int) for _ in dims]
    hidden = [False] * len(cells)

    def hide(m: int) -> None:
        hidden[m] = True
        for i in range(len(dims)):
            hidden_in[i][line_of[i][m]] += 1

    def new_lone_lines(m: int, along: int) -> int:
        return sum(
            1
            for j in range(len(dims))
            if j != along and hidden_in[j][line_of[j][m]] == 0 and len(members[j][line_of[j][m]]) > 1
        )

    for m, cell in enumerate(cells):
        if persons[m] < threshold or (cell.persons is not None and cell.persons < threshold):
            hide(m)
    changed = True
    while changed:
        changed = False
        for i in range(len(dims)):
            for line, line_members in members[i].items():
                if hidden_in[i][line] != 1 or len(line_members) < 2:
                    continue
                shown = [m for m in line_members if not hidden[m]]
                hide(min(shown, key=lambda m: (new_lone_lines(m, i), persons[m], str(keys[m]))))
                changed = True
    for cell, is_hidden in zip(cells, hidden, strict=True):
        if is_hidden:
            cell.suppressed = True
            cell.achievements = cell.persons = None
            cell.credits = None
            cell.perturbed = False
