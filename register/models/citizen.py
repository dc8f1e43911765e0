"""The citizen's side: login sessions (server-side) and share links. Neither holds a national id."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, LargeBinary, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from register.models.base import Base, timestamp_now, uuid_pk


class CitizenSession(Base):
    """One browser's session: a login under way (``login``) or a logged-in person (``person_id``).

    The cookie holds a random 256-bit token; only its sha256 is kept here, so a copy of the table
    cannot be replayed as cookies. Logging out deletes the row.
    """

    __tablename__ = "citizen_session"
    __table_args__ = (Index(None, "expires_at"), Index(None, "person_id"))

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(Text)
    # state, nonce and PKCE verifier of the authorization request under way; NULL once logged in
    login: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = timestamp_now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ShareLink(Base):
    """A secret link to a chosen set of one person's results; only a hash of the secret is kept."""

    __tablename__ = "share_link"
    __table_args__ = (Index(None, "person_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    achievement_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = timestamp_now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
