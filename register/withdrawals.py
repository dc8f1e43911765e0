"""Withdrawal of one achievement by its provider (the REST ``withdrawal`` endpoint).

A withdrawal is a new version with status ``withdrawn`` and a reason, never a delete: the current
row is copied to ``achievement_version`` first, exactly as the ingest does for a changed record. The
content hash changes too, so a later re-delivery of the original record by the provider is a change
(the result becomes valid again) rather than "unchanged" — the provider's newest word counts.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, text

from register import stats
from register.errors import Conflict, InvalidInput, NotFound
from register.wallet import status as wallet_status


@dataclass(frozen=True, slots=True)
class Withdrawn:
    id: uuid.UUID
    version: int
    reason: str


def withdraw_achievement(
    conn: Connection, achievement_id: uuid.UUID, *, provider_orgnr: str, reason: str
) -> Withdrawn:
    """Withdraw a valid achievement delivered by ``provider_orgnr``.

    Raises NotFound (``achievement.not_found``) for an achievement that does not exist or that another
    provider delivered — the two are not told apart — and Conflict (``achievement.already_withdrawn``).
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("withdrawal.reason_missing", "a withdrawal needs a reason")
    row = conn.execute(
        text(
            """SELECT a.id, a.status, a.person_id, a.content_hash FROM achievement a
               JOIN organisation o ON o.id = a.provider_id
               WHERE a.id = :id AND o.orgnr = :orgnr FOR UPDATE OF a"""
        ),
        {"id": achievement_id, "orgnr": provider_orgnr},
    ).one_or_none()
    if row is None:
        raise NotFound(
            "achievement.not_found", "no achievement with this id was delivered by your organisation"
        )
    if row.status != "valid":
        raise Conflict("achievement.already_withdrawn", "the achievement is already withdrawn")
    conn.execute(
        text(
            """INSERT INTO achievement_version (achievement_id, version, person_id, batch_id, content_hash,
                                                status, content)
               SELECT a.id, a.version, a.person_id, a.batch_id, a.content_hash, a.status,
                      to_jsonb(a) - 'id' - 'version' - 'content_hash' - 'batch_id'
               FROM achievement a WHERE a.id = :id"""
        ),
        {"id": achievement_id},
    )
    new_hash = hashlib.sha256(f"{row.content_hash}:withdrawn:{reason}".encode()).hexdigest()
    version = conn.execute(
        text(
            """UPDATE achievement SET status = 'withdrawn', withdrawal_reason = :reason, version = version + 1,
                      content_hash = :hash, updated_at = now()
               WHERE id = :id RETURNING version"""
        ),
        {"id": achievement_id, "reason": reason, "hash": new_hash},
    ).scalar_one()
    stats.refresh_persons(conn, [row.person_id])
    wallet_status.invalidate(conn, [achievement_id])  # its wallet credentials now show it invalid
    return Withdrawn(id=achievement_id, version=int(version), reason=reason)
