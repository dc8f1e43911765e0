"""Preview records: an OOTS request held until the person approves or refuses it.

A request that allows preview gets ``EDM:ERR:0002`` and a PreviewLocation ``<base>/oots/preview/<token>``;
the token is 256 random bits (``secrets.token_urlsafe(32)``), so a location cannot be guessed and one
request's location never opens another's. States: ``pending`` → ``approved`` | ``refused`` by the person;
a pending or approved preview past ``expires_at`` is ``expired`` (set when next read). Decisions are
final: a refused request cannot be approved later, and a new request starts a new preview.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from register.oots.request import EvidenceRequest

PREVIEW_PATH = "/oots/preview/"


@dataclass(frozen=True, slots=True)
class Preview:
    id: uuid.UUID
    token: str
    request_id: str
    person_id: uuid.UUID
    evidence_type: str
    specification: str
    request: dict[str, Any]
    state: str
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_at: dt.datetime | None

    @property
    def national_id(self) -> bool:
        """Whether the request named the person by their national id (register.oots.evidence)."""
        return bool(self.request.get("national_id"))

    def location(self, base: str) -> str:
        return f"{base}{PREVIEW_PATH}{self.token}"


_COLUMNS = (
    "id, token, request_id, person_id, evidence_type, specification, request, state, created_at,"
    " expires_at, decided_at"
)


def create_preview(
    conn: Connection,
    request: EvidenceRequest,
    *,
    person_id: uuid.UUID,
    evidence_type: str,
    national_id: bool,
    lifetime: dt.timedelta,
) -> Preview:
    requester = request.requester
    shown = {
        "requester": {"name": requester.name, "identifier": requester.identifier} if requester else None,
        "procedure": request.procedure,
        "requirements": list(request.requirements),
        "national_id": national_id,
    }
    row = conn.execute(
        text(
            f"""INSERT INTO oots_preview (token, request_id, person_id, evidence_type, specification, request,
                                         expires_at)
                VALUES (:token, :request_id, :person, :type, :spec, CAST(:request AS jsonb), now() + :life)
                RETURNING {_COLUMNS}"""
        ),
        {
            "token": secrets.token_urlsafe(32),
            "request_id": request.request_id,
            "person": person_id,
            "type": evidence_type,
            "spec": request.specification,
            "request": json.dumps(shown),
            "life": lifetime,
        },
    ).one()
    return Preview(*row)


def preview_by_token(conn: Connection, token: str, *, for_update: bool = False) -> Preview | None:
    """The preview, its state brought up to date (``expired`` once past its time)."""
    if not token or len(token) > 64:
        return None
    lock = " FOR UPDATE" if for_update else ""
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM oots_preview WHERE token = :t{lock}"), {"t": token}
    ).one_or_none()
    if row is None:
        return None
    preview = Preview(*row)
    if preview.state in ("pending", "approved") and preview.expires_at <= dt.datetime.now(dt.UTC):
        conn.execute(text("UPDATE oots_preview SET state = 'expired' WHERE id = :id"), {"id": preview.id})
        return _replace_state(preview, "expired")
    return preview


def token_of_location(location: str, base: str) -> str | None:
    """The token of a PreviewLocation this register issued; None for any other address."""
    prefix = f"{base}{PREVIEW_PATH}"
    if not location.startswith(prefix):
        return None
    token = location[len(prefix) :]
    return token if token and "/" not in token and "?" not in token else None


def decide(conn: Connection, preview: Preview, *, approve: bool) -> Preview:
    """Approve or refuse a pending preview; a decided or expired one is returned as it is."""
    if preview.state != "pending":
        return preview
    state = "approved" if approve else "refused"
    decided = conn.execute(
        text(
            "UPDATE oots_preview SET state = :s, decided_at = now() WHERE id = :id AND state = 'pending'"
            " RETURNING decided_at"
        ),
        {"s": state, "id": preview.id},
    ).scalar()
    return _replace_state(preview, state, decided) if decided is not None else preview


def _replace_state(preview: Preview, state: str, decided_at: dt.datetime | None = None) -> Preview:
    values = {name: getattr(preview, name) for name in Preview.__dataclass_fields__}
    values["state"] = state
    if decided_at is not None:
        values["decided_at"] = decided_at
    return Preview(**values)
