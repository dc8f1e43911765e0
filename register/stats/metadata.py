"""What an analyst can ask: the table of contents and, per dimension, its codes with labels.

After DBH's and PxWeb's conventions: a table of contents (here one table, the achievements, with its
measures, dimensions and outputs) and per variable its codes with labels in bokmål and English. The
closed lists come from the modules that define them (``register.stats.labels`` says which); the open
ones from the register: the years and providers the summary tables hold, the NUS codes of the
learning specifications. Listing a code says that some result has it, never how many.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from register import disclosure
from register.classifications import AGE_GROUP_LABELS, COUNTIES, GENDERS, ISCEDF, Label, nus_label
from register.errors import NotFound
from register.grading import GRADE_SCHEME_LABELS, NKR_LABELS, SCALES
from register.sectors import Sector
from register.stats.cube import DIMENSIONS, MATERIALIZED, rolled_mask
from register.stats.labels import DIMENSION_LABELS, MEASURES, grade_label
from register.stats.outputs import FORMATS, ROLES, STATUS_MEANING


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    label: Label


@dataclass(frozen=True, slots=True)
class DimensionInfo:
    id: str
    label: Label
    role: str | None  # JSON-stat role: time, geo
    kept: bool  # in the kept roll-ups (fast); otherwise computed on demand from the person cells
    closed: bool  # the codes are a fixed list; otherwise those the register holds now
    note: str
    codes: list[Code] = field(default_factory=list)


_NOTES = {
    "sector": "the four sectors of the register",
    "year": "the year of the result; filter by a year, a set (2021,2023) or a range (2020-2024)",
    "provider": "the awarding organisation, by organisasjonsnummer",
    "level": 'NKR level, or "EQF n" where only the EQF level is known',
    "field": "ISCED-F 2013 field of the learning specification",
    "nus": "NUS code of the learning specification; labelled by its level and field digits",
    "grade": "SCHEME:VALUE as delivered; the grade scales of the register",
    "gender": "as a delivered record states it; never derived from the national id",
    "age_group": "age in the result's year (year − birth year), where a birth date was delivered",
    "county": "the county of the awarding organisation, where registered",
}
assert set(_NOTES) == set(DIMENSIONS)


def table_of_contents() -> dict[str, Any]:
    """The tables an analyst can ask for, with their dimensions, measures and outputs."""
    return {
        "tables": [
            {
                "id": "achievements",
                "path": "/v1/stats/achievements",
                "label": {"nb": "Resultater", "en": "Achievements"},
                "measures": [{"id": m, "label": _both(label)} for m, label in MEASURES.items()],
                "dimensions": [
                    {
                        "id": d,
                        "label": _both(DIMENSION_LABELS[d]),
                        "role": ROLES.get(d),
                        "kept": d in MATERIALIZED,
                        "note": _NOTES[d],
                        "codes": f"/v1/stats/dimensions/{d}",
                    }
                    for d in DIMENSIONS
                ],
                "formats": list(FORMATS),
                "status": STATUS_MEANING,
                "disclosure_control": disclosure.RULE,
            }
        ]
    }


def dimension(conn: Connection, name: str) -> DimensionInfo:
    """One dimension and its codes with labels in bokmål and English."""
    if name not in DIMENSIONS:
        raise NotFound(
            "stats.unknown_dimension_metadata", f"no dimension {name!r}; dimensions: {', '.join(DIMENSIONS)}"
        )
    closed, codes = _codes(conn, name)
    return DimensionInfo(
        id=name,
        label=DIMENSION_LABELS[name],
        role=ROLES.get(name),
        kept=name in MATERIALIZED,
        closed=closed,
        note=_NOTES[name],
        codes=codes,
    )


def _codes(conn: Connection, name: str) -> tuple[bool, list[Code]]:
    if name == "sector":
        return True, [Code(s.value, Label(s.label, s.label_en)) for s in Sector]
    if name == "level":
        eqf = [Code(f"EQF {n}", Label(f"EQF-nivå {n}", f"EQF level {n}")) for n in range(1, 9)]
        return True, [Code(code, Label(*labels)) for code, labels in NKR_LABELS.items()] + eqf
    if name == "field":
        return True, [Code(code, label) for code, label in ISCEDF.items()]
    if name == "grade":
        return True, [
            Code(f"{scheme.value}:{grade.value}", grade_label(scheme.value, grade.value))
            for scheme in GRADE_SCHEME_LABELS
            for grade in SCALES.get(scheme, {}).values()
        ]
    if name == "gender":
        return True, [Code(code, label) for code, label in GENDERS.items()]
    if name == "age_group":
        return True, [Code(code, label) for code, label in AGE_GROUP_LABELS.items()]
    if name == "county":
        return True, [Code(code, label) for code, label in COUNTIES.items()]
    if name == "year":
        rows = conn.execute(
            text("SELECT DISTINCT year FROM stats_cell WHERE rolled = :r AND year IS NOT NULL ORDER BY year"),
            {"r": rolled_mask({"year"})},
        )
        return False, [Code(str(y), Label(str(y), str(y))) for (y,) in rows]
    if name == "provider":
        rows = conn.execute(
            text(
                """SELECT o.orgnr, o.name_nb, coalesce(o.name_en, o.name_nb) FROM stats_cell c
                   JOIN organisation o ON o.id = c.provider_id
                   WHERE c.rolled = :r AND o.orgnr IS NOT NULL ORDER BY o.orgnr"""
            ),
            {"r": rolled_mask({"provider"})},
        )
        return False, [Code(orgnr, Label(nb, en)) for orgnr, nb, en in rows]
    # nus: the specifications' codes (the catalogue, not the results)
    rows = conn.execute(
        text("SELECT DISTINCT nus_code FROM learning_specification WHERE nus_code IS NOT NULL ORDER BY 1")
    )
    return False, [Code(code, nus_label(code) or Label(code, code)) for (code,) in rows]


def _both(label: Label) -> dict[str, str]:
    return {"nb": label.nb, "en": label.en}


def dimension_out(info: DimensionInfo) -> dict[str, Any]:
    """A dimension as the API gives it."""
    return {
        "id": info.id,
        "label": _both(info.label),
        "role": info.role,
        "kept": info.kept,
        "closed": info.closed,
        "note": info.note,
        "codes": [{"code": c.code, "label": _both(c.label)} for c in info.codes],
    }
