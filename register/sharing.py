"""Share links: a 128-bit secret link to results the person chose, for a limited time, revocable.

Only the sha256 of the secret is stored: the secret is shown once, when the link is made, and a copy
of the table opens no link. A plain hash is enough here (no salt, no slow hash), unlike for a
password: 128 random bits cannot be found by trying. Every read through a link is audited against the
person (``share.read``), so it shows in their view log. A link gives out the chosen results that are
still valid when it is opened: one withdrawn since then drops out of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from register import audit
from register.errors import InvalidInput, NotFound, RegisterError
from register.queries import AchievementRow, PersonRows, person_rows

#: 16 bytes = 128 bits of secret, as the link's only protection
SECRET_BYTES = 16
#: the audit action of a read through a link (the view log names it)
READ_ACTION = "share.read"


class LinkGone(RegisterError):
    status = 410
    title = "Gone"


@dataclass(frozen=True, slots=True)
class ShareLinkView:
    id: uuid.UUID
    label: str | None
    achievement_ids: list[uuid.UUID]
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.expires_at > now else "expired"


_COLUMNS = "id, label, achievement_ids, created_at, expires_at, revoked_at"


def secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def create_link(
    conn: Connection,
    person_id: uuid.UUID,
    achievement_ids: Sequence[uuid.UUID],
    *,
    days: int,
    max_days: int,
    label: str | None = None,
) -> tuple[str, ShareLinkView]:
    """A new link to these achievements of the person; returns the secret (shown once) and the link.

    InvalidInput: ``share.nothing_chosen``, ``share.expiry_out_of_range`` (1 … ``max_days`` days),
    ``share.unknown_result`` (an id that is not a valid result of this person).
    """
    chosen = list(dict.fromkeys(achievement_ids))
    if not chosen:
        raise InvalidInput("share.nothing_chosen", "choose at least one result to share")
    if not 1 <= days <= max_days:
        raise InvalidInput("share.expiry_out_of_range", f"a share link lasts from 1 to {max_days} days")
    owned = conn.execute(
        text(
            """SELECT count(*) FROM achievement
               WHERE id = ANY(:ids) AND person_id = :p AND status = 'valid'"""
        ),
        {"ids": chosen, "p": person_id},
    ).scalar_one()
    if owned != len(chosen):
        raise InvalidInput("share.unknown_result", "a chosen result is not one of your valid results")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    row = conn.execute(
        text(
            f"""INSERT INTO share_link (secret_hash, person_id, achievement_ids, label, expires_at)
                VALUES (:h, :p, :ids, :label, now() + make_interval(days => :days))
                RETURNING {_COLUMNS}"""
        ),
        {"h": secret_hash(secret), "p": person_id, "ids": chosen, "label": label or None, "days": days},
    ).one()
    return secret, ShareLinkView(**row._mapping)


def links_of(conn: Connection, person_id: uuid.UUID) -> list[ShareLinkView]:
    rows = conn.execute(
        text(f"SELECT {_COLUMNS} FROM share_link WHERE person_id = :p ORDER BY created_at DESC, id"),
        {"p": person_id},
    )
    return [ShareLinkView(**r._mapping) for r in rows]


def revoke(conn: Connection, person_id: uuid.UUID, link_id: uuid.UUID) -> None:
    """Revoke one of the person's links (again is harmless); NotFound ``share.not_found`` otherwise."""
    found = conn.execute(
        text(
            """UPDATE share_link SET revoked_at = coalesce(revoked_at, now())
               WHERE id = :id AND person_id = :p RETURNING id"""
        ),
        {"id": link_id, "p": person_id},
    ).one_or_none()
    if found is None:
        raise NotFound("share.not_found", "no such share link")


@dataclass(frozen=True, slots=True)
class SharedResults:
    link: ShareLinkView
    person: PersonRows  # only the link's achievements that are still valid


def open_link(conn: Connection, secret: str, *, request_id: str | None = None) -> SharedResults:
    """The results behind a link, read and audited (``share.read``) in the caller's transaction.

    NotFound ``share.not_found`` for a secret no link has; LinkGone ``share.revoked`` or
    ``share.expired``. The person's name and birth date come with the results, as on a diploma.
    """
    row = conn.execute(
        text(f"SELECT {_COLUMNS}, person_id FROM share_link WHERE secret_hash = :h"),
        {"h": secret_hash(secret)},
    ).one_or_none()
    if row is None:
        raise NotFound("share.not_found", "no share link has this address")
    values: dict[str, Any] = dict(row._mapping)
    person_id = values.pop("person_id")
    link = ShareLinkView(**values)
    if link.revoked_at is not None:
        raise LinkGone("share.revoked", "the person has revoked this share link")
    if link.expires_at <= dt.datetime.now(dt.UTC):
        raise LinkGone("share.expired", "this share link has expired")
    rows = person_rows(conn, person_id)
    assert rows is not None  # the link's foreign key keeps its person
    wanted = {str(i) for i in link.achievement_ids}
    shared = _with_ancestors_dropped(rows.achievements, wanted)
    audit.record_read(
        conn,
        person_id=person_id,
        action=READ_ACTION,
        request_id=request_id,
        details={
            "share_link": str(link.id),
            "count": len(shared),
            "achievement_ids": [r.id for r in shared],
        },
    )
    return SharedResults(
        link,
        PersonRows(rows.id, rows.given_name, rows.family_name, rows.birth_date, shared),
    )


def _with_ancestors_dropped(rows: list[AchievementRow], wanted: set[str]) -> list[AchievementRow]:
    """The chosen rows in the read model's order; a chosen part whose parent was not chosen stands alone."""
    return [
        r._replace(part_of_id=r.part_of_id if r.part_of_id in wanted else None)
        for r in rows
        if r.id in wanted
    ]
