"""The history of one achievement: every version, oldest first — what it said, who delivered it, when.

The superseded versions lie in ``achievement_version`` (append-only, the row as it was: ``to_jsonb``
of the achievement), the current one in ``achievement``; one statement reads both and the
specification, provider and batch of each. Person data: the caller audits the read (``person_id``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from register.errors import NotFound
from register.queries import GradeView, as_decimal


@dataclass(frozen=True, slots=True)
class VersionView:
    version: int
    current: bool
    status: str  # valid or withdrawn
    withdrawal_reason: str | None
    grade: GradeView | None
    credits: Decimal | None
    credit_scheme: str | None
    completed_on: dt.date | None
    year: int | None
    term: str | None
    specification_id: int
    specification_code: str | None
    specification_title: dict[str, str]
    provider_orgnr: str | None  # who delivered this version
    provider_name: str
    batch_id: uuid.UUID | None  # the delivery that made it (a withdrawal through the API keeps the last)
    delivered_at: dt.datetime  # when the register stored this version


@dataclass(frozen=True, slots=True)
class AchievementHistory:
    achievement_id: uuid.UUID
    person_id: uuid.UUID
    versions: list[VersionView]


# The current row as the version table keeps a superseded one (to_jsonb of the row), so both read alike.
_VERSIONS = """
WITH x AS (
    SELECT v.achievement_id, v.version, v.batch_id, v.content AS c, false AS current
    FROM achievement_version v WHERE v.achievement_id = ANY(CAST(:ids AS uuid[]))
    UNION ALL
    SELECT a.id, a.version, a.batch_id, to_jsonb(a) AS c, true AS current
    FROM achievement a WHERE a.id = ANY(CAST(:ids AS uuid[]))
)
SELECT x.achievement_id, x.version, x.current, x.batch_id, x.c->>'status' AS status, x.c->>'withdrawal_reason' AS reason,
       x.c->>'grade_scheme' AS grade_scheme, x.c->>'grade_value' AS grade_value,
       (x.c->>'grade_passed')::boolean AS grade_passed,
       x.c->'details'->>'grade_as_delivered' AS grade_as_delivered,
       (x.c->>'credits')::float8 AS credits, x.c->>'credit_scheme' AS credit_scheme,
       (x.c->>'completed_on')::date AS completed_on, (x.c->>'year')::int AS year, x.c->>'term' AS term,
       (x.c->>'updated_at')::timestamptz AS delivered_at,
       s.id AS spec_id, s.code AS spec_code, s.title AS spec_title, o.orgnr, o.name_nb
FROM x
JOIN learning_specification s ON s.id = (x.c->>'specification_id')::bigint
JOIN organisation o ON o.id = (x.c->>'provider_id')::bigint
ORDER BY x.achievement_id, x.version
"""


def achievement_history(conn: Connection, achievement_id: uuid.UUID) -> AchievementHistory:
    """Every version of the achievement, oldest first; NotFound (``achievement.not_found``) if none."""
    found = achievement_histories(conn, [achievement_id]).get(achievement_id)
    if found is None:
        raise NotFound("achievement.not_found", "no achievement has this id")
    return found


def achievement_histories(
    conn: Connection, achievement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, AchievementHistory]:
    """``achievement_history`` of many at once (GraphQL's loader): two statements however many; the
    ids that name no achievement are left out."""
    ids = list(achievement_ids)
    rows = conn.execute(
        text("SELECT id, person_id FROM achievement WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}
    )
    found = {r.id: AchievementHistory(r.id, r.person_id, []) for r in rows}
    for row in conn.execute(text(_VERSIONS), {"ids": ids}):
        history = found.get(row.achievement_id)
        if history is not None:
            history.versions.append(_version(row))
    return found


def _version(r: Any) -> VersionView:
    return VersionView(
        version=r.version,
        current=r.current,
        status=r.status,
        withdrawal_reason=r.reason,
        grade=GradeView(r.grade_scheme, r.grade_value, r.grade_passed, r.grade_as_delivered or r.grade_value)
        if r.grade_scheme
        else None,
        credits=as_decimal(r.credits),
        credit_scheme=r.credit_scheme,
        completed_on=r.completed_on,
        year=r.year,
        term=r.term,
        specification_id=r.spec_id,
        specification_code=r.spec_code,
        specification_title=r.spec_title,
        provider_orgnr=r.orgnr,
        provider_name=r.name_nb,
        batch_id=r.batch_id,
        delivered_at=r.delivered_at,
    )
