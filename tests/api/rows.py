"""Direct row helpers for read-side tests: a batch of achievements written as the ingest would leave them.

The read side (queries, statistics, audit) is tested on rows with known values; the path through the
real importers and ingest is tested end to end in test_end_to_end.py.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, text

from register import stats


@dataclass(frozen=True)
class Spec:
    code: str
    kind: str = "course"
    nkr_level: str | None = "6"
    eqf_level: int | None = None
    iscedf_code: str | None = "0613"
    nus_code: str | None = None
    credits: Decimal | None = None
    credit_scheme: str | None = None


def org_id(conn: Connection, orgnr: str) -> int:
    return int(conn.execute(text("SELECT id FROM organisation WHERE orgnr = :o"), {"o": orgnr}).scalar_one())


def new_person(
    conn: Connection, nin: str | None = None, given: str = "Kari", family: str = "Nordmann"
) -> uuid.UUID:
    person_id = conn.execute(
        text("INSERT INTO person (given_name, family_name) VALUES (:g, :f) RETURNING id"),
        {"g": given, "f": family},
    ).scalar_one()
    if nin is not None:
        conn.execute(
            text("INSERT INTO person_identifier (person_id, kind, value) VALUES (:p, 'synthetic', :v)"),
            {"p": person_id, "v": nin},
        )
    return person_id


def new_batch(conn: Connection, provider_orgnr: str, sector: str = "higher") -> uuid.UUID:
    return conn.execute(
        text(
            """INSERT INTO import_batch (provider_id, sector, sha256, size_bytes, status)
               VALUES (:p, :s, :h, 0, 'completed') RETURNING id"""
        ),
        {"p": org_id(conn, provider_orgnr), "s": sector, "h": uuid.uuid4().hex},
    ).scalar_one()


def spec_id(conn: Connection, spec: Spec) -> int:
    key = hashlib.sha256(json.dumps(spec.__dict__, default=str).encode()).hexdigest()
    found = conn.execute(
        text("SELECT id FROM learning_specification WHERE content_key = :k"), {"k": key}
    ).scalar()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            text(
                """INSERT INTO learning_specification (content_key, kind, code, code_scheme, title, credits,
                       credit_scheme, nkr_level, eqf_level, iscedf_code, nus_code)
                   VALUES (:k, :kind, :code, 'fs', CAST(:title AS jsonb), :credits, :cs, :nkr, :eqf, :isced, :nus)
                   RETURNING id"""
            ),
            {
                "k": key,
                "kind": spec.kind,
                "code": spec.code,
                "title": json.dumps({"nb": f"Emne {spec.code}", "en": f"Course {spec.code}"}),
                "credits": spec.credits,
                "cs": spec.credit_scheme,
                "nkr": spec.nkr_level,
                "eqf": spec.eqf_level,
                "isced": spec.iscedf_code,
                "nus": spec.nus_code,
            },
        ).scalar_one()
    )


def add_achievement(
    conn: Connection,
    *,
    person_id: uuid.UUID,
    batch_id: uuid.UUID,
    provider_orgnr: str,
    spec: Spec,
    sector: str = "higher",
    kind: str = "course_result",
    year: int | None = 2024,
    grade: tuple[str, str, bool | None] | None = ("a-f", "B", True),
    credits: Decimal | None = Decimal("10"),
    credit_scheme: str | None = "ects",
    part_of: uuid.UUID | None = None,
    source_key: str | None = None,
) -> uuid.UUID:
    provider = org_id(conn, provider_orgnr)
    return conn.execute(
        text(
            """INSERT INTO achievement (person_id, provider_id, source_key, awarding_org_id, specification_id,
                   sector, kind, part_of_id, grade_scheme, grade_value, grade_passed, credits, credit_scheme,
                   year, content_hash, batch_id)
               VALUES (:person, :provider, :key, :provider, :spec, :sector, :kind, :part_of, :gs, :gv, :gp,
                       :credits, :cs, :year, :hash, :batch)
               RETURNING id"""
        ),
        {
            "person": person_id,
            "provider": provider,
            "key": source_key or uuid.uuid4().hex,
            "spec": spec_id(conn, spec),
            "sector": sector,
            "kind": kind,
            "part_of": part_of,
            "gs": grade[0] if grade else None,
            "gv": grade[1] if grade else None,
            "gp": grade[2] if grade else None,
            "credits": credits,
            "cs": credit_scheme if credits is not None else None,
            "year": year,
            "hash": uuid.uuid4().hex,
            "batch": batch_id,
        },
    ).scalar_one()


def finish_batch(conn: Connection, batch_id: uuid.UUID) -> None:
    """What the ingest does last (mark the batch's persons pending), and the refresh after it."""
    stats.mark_batch_pending(conn, batch_id)
    stats.refresh_round(conn)
