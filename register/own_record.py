"""What the register holds about a person beyond the read model, for the person's own pages.

``register.queries.person_view`` gives the valid results (the one read model every output uses);
the person also sees the results that were withdrawn, with the reason, and the earlier versions of
each result from ``achievement_version`` (the ingest and a withdrawal copy the superseded row there).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text


@dataclass(frozen=True, slots=True)
class WithdrawnView:
    id: uuid.UUID
    sector: str
    title: dict[str, str]
    code: str | None
    organisation: str
    reason: str
    withdrawn_at: dt.datetime
    version: int


@dataclass(frozen=True, slots=True)
class VersionView:
    version: int
    status: str
    grade: str | None
    credits: Any
    recorded_at: dt.datetime


def withdrawn_achievements(conn: Connection, person_id: uuid.UUID) -> list[WithdrawnView]:
    rows = conn.execute(
        text(
            """SELECT a.id, a.sector, s.title::text AS title, s.code, o.name_nb, a.withdrawal_reason,
                      a.updated_at, a.version
               FROM achievement a JOIN learning_specification s ON s.id = a.specification_id
               JOIN organisation o ON o.id = a.awarding_org_id
               WHERE a.person_id = :p AND a.status <> 'valid'
               ORDER BY a.updated_at DESC, a.id"""
        ),
        {"p": person_id},
    )
    return [
        WithdrawnView(
            id=r.id,
            sector=r.sector,
            title=orjson.loads(r.title),
            code=r.code,
            organisation=r.name_nb,
            reason=r.withdrawal_reason,
            withdrawn_at=r.updated_at,
            version=r.version,
        )
        for r in rows
    ]


def earlier_versions(conn: Connection, person_id: uuid.UUID) -> dict[uuid.UUID, list[VersionView]]:
    """Each achievement's superseded versions, newest first, by achievement id."""
    rows = conn.execute(
        text(
            """SELECT achievement_id, version, status, content->>'grade_value' AS grade,
                      content->'credits' AS credits, recorded_at
               FROM achievement_version WHERE person_id = :p
               ORDER BY achievement_id, version DESC"""
        ),
        {"p": person_id},
    )
    found: dict[uuid.UUID, list[VersionView]] = defaultdict(list)
    for r in rows:
        found[r.achievement_id].append(VersionView(r.version, r.status, r.grade, r.credits, r.recorded_at))
    return dict(found)
