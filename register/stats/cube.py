"""The roll-ups' shape: the dimensions, which combinations are kept, and the SQL that builds them."""

from __future__ import annotations

from collections.abc import Sequence

from register import disclosure
from register.classifications import age_group_sql
from register.grading import CreditScheme

#: the largest table (of grouped and filtered dimensions) an analyst's query may span
MAX_TABLE_CELLS = 50_000

#: analyst-facing dimension name → stats_cell column(s); the order fixes the bits of ``rolled``
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "sector": ("sector",),
    "year": ("year",),
    "provider": ("provider_id",),
    "level": ("level",),
    "field": ("field",),
    "nus": ("nus",),
    "grade": ("grade_scheme", "grade_value"),
    # Migration 0010: gender and age group are columns of the person cells; the county is the awarding
    # organisation's, joined when a table asks for it (so a county registered later counts at once).
    "gender": ("gender",),
    "age_group": ("age_group",),
    "county": ("county",),
}
#: the dimensions whose every combination is kept in ``stats_cell`` (the others are computed on demand);
#: they lead ``DIMENSIONS``, so their GROUPING() bits are the high bits of ``rolled``
MATERIALIZED = ("sector", "year", "provider", "level", "field")
assert tuple(DIMENSIONS)[: len(MATERIALIZED)] == MATERIALIZED
#: the dimensions with columns in ``stats_cell`` (``rolled`` has a bit for each); gender, age group and
#: county are never kept: the 256 roll-ups with them were 40 × the cells of the 32 and 18 × the time to
#: build (114 573 cells in 3.8 s against 2 844 in 0.2 s at 2 800 persons; benchmarks/stats_dimensions.py),
#: while an answer by one of them computed on demand took 0.1 s and is cached (docs/statistics.md)
STORED = ("sector", "year", "provider", "level", "field", "nus", "grade")
assert tuple(DIMENSIONS)[: len(STORED)] == STORED
KEY_COLUMNS = tuple(c for cols in DIMENSIONS.values() for c in cols)
#: the key columns of ``stats_cell``
CELL_COLUMNS = tuple(c for d in STORED for c in DIMENSIONS[d])
CREDIT_COLUMNS = {scheme.value: f"credits_{scheme.value}" for scheme in CreditScheme}
#: the cell keys of the cell-key method (``register.disclosure``): sums of record keys modulo 2³²
CELL_KEY_COLUMNS = ("person_key", "achievement_key")
SUMMED = ("achievements", "persons", *CREDIT_COLUMNS.values())
_M = disclosure.KEY_MODULUS


def modulo(expression: str) -> str:
    """``expression`` reduced to 0 ≤ … < 2³² (SQL's mod keeps the sign of a negative sum)."""
    return f"CAST(mod(mod({expression}, {_M}) + {_M}, {_M}) AS bigint)"


_CUBE = ", ".join(DIMENSIONS[d][0] for d in MATERIALIZED)
# GROUPING() bits of the kept roll-ups, moved up past the always-rolled dimensions after them
_ALWAYS_ROLLED = len(STORED) - len(MATERIALIZED)
_GROUPING = f"(GROUPING({_CUBE}) << {_ALWAYS_ROLLED}) | {(1 << _ALWAYS_ROLLED) - 1}"
_NUMERIC_KEYS = {"year": "smallint", "provider_id": "integer"}  # the other key columns are text
_CUBE_KEYS = ", ".join(c if d in MATERIALIZED else "NULL" for d in STORED for c in DIMENSIONS[d])


def rolled_mask(kept: set[str]) -> int:
    """The ``rolled`` value of the roll-up that keeps ``kept``: SQL GROUPING() bits, first dimension highest.

    Over the stored dimensions only (a table that keeps another is computed on demand, where ``rolled``
    only labels the rows)."""
    names = list(STORED)
    mask = 0
    for i, name in enumerate(names):
        if name not in kept:
            mask |= 1 << (len(names) - 1 - i)
    return mask


PERSON_CELLS_INSERT = """
    INSERT INTO stats_person_cell (person_id, sector, year, provider_id, level, field, nus, grade_scheme,
                                   grade_value, gender, age_group, achievements, credits_ects,
                                   credits_fagskolepoeng, credits_hours, person_key, achievement_key)
    SELECT a.person_id, a.sector, a.year, a.awarding_org_id,
           -- the level: NKR where known (5.1 and 5.2 differ), else the EQF level the specification gives
           coalesce(s.nkr_level, 'EQF ' || s.eqf_level), s.iscedf_code, s.nus_code,
           a.grade_scheme, a.grade_value,
           -- as delivered (never from the national id), and the age in the result's year
           p.gender, {age_group},
           count(*),
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
    JOIN person p ON p.id = a.person_id
    CROSS JOIN stats_state k
    WHERE a.status = 'valid' AND a.person_id IN ({persons})
    GROUP BY a.person_id, a.sector, a.year, a.awarding_org_id, 5, s.iscedf_code, s.nus_code,
             a.grade_scheme, a.grade_value, p.gender, 11, k.key_seed
""".replace("{achievement_keys}", modulo("sum(hashtextextended(CAST(a.id AS text), k.key_seed))")).replace(
    "{age_group}", age_group_sql("a.year - CAST(extract(year FROM p.birth_date) AS integer)")
)


def cube_select(source: str, sign: int) -> str:
    """Every kept roll-up of ``source`` (person cells), counts multiplied by ``sign``."""
    credits = ", ".join(f"{sign} * sum({col})" for col in CREDIT_COLUMNS.values())
    # A person counts once per cell, so their key does too: record keys are 64-bit hashes, distinct
    # per person (two persons share one with probability ~3e-8 at 1 M persons; it would only change
    # the noise of cells holding both), so DISTINCT is per person.
    return f"""SELECT {_GROUPING}, {_CUBE_KEYS}, {sign} * sum(achievements),
                      {sign} * count(DISTINCT person_id), {credits},
                      {sign} * {modulo("sum(DISTINCT person_key)")}, {sign} * {modulo("sum(achievement_key)")}
               FROM {source} GROUP BY CUBE ({_CUBE})
               HAVING count(*) > 0"""  # the empty grouping set yields a row even over no rows


def _null(column: str) -> str:
    return f"CAST(NULL AS {_NUMERIC_KEYS.get(column, 'text')}) AS {column}"


def kept_select() -> str:
    """One kept roll-up of ``stats_cell`` (``:rolled``), with the columns of every dimension."""
    absent = ", ".join(_null(c) for c in KEY_COLUMNS if c not in CELL_COLUMNS)
    return f"SELECT *, {absent} FROM stats_cell WHERE rolled = :rolled"


def on_demand_select(kept: Sequence[str], *, years: bool = False) -> str:
    """One roll-up that ``stats_cell`` does not keep, computed from the person cells (same columns).

    ``years``: only the person cells of the years in ``:years`` (a set or range of years asked for as
    one population: its persons counted once, its cell keys those of exactly that population)."""
    columns = [c for d in kept for c in DIMENSIONS[d]]
    keys = ", ".join(c if c in columns else _null(c) for c in KEY_COLUMNS)
    credits = ", ".join(f"sum({col}) AS {col}" for col in CREDIT_COLUMNS.values())
    where = "WHERE year = ANY(CAST(:years AS smallint[]))" if years else ""
    group = f"GROUP BY {', '.join(columns)}" if columns else "HAVING count(*) > 0"
    source = (
        "(SELECT c.*, o.county FROM stats_person_cell c LEFT JOIN organisation o ON o.id = c.provider_id)"
        if "county" in kept
        else "stats_person_cell"
    )
    return f"""SELECT :rolled AS rolled, {keys}, sum(achievements) AS achievements,
                      count(DISTINCT person_id) AS persons, {credits},
                      {modulo("sum(DISTINCT person_key)")} AS person_key,
                      {modulo("sum(achievement_key)")} AS achievement_key
               FROM {source} AS cells {where} {group}"""
