from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from register.models.base import Base, timestamp_now, uuid_pk

PREVIEW_STATES = ("pending", "approved", "refused", "expired")


class OotsPreview(Base):
    """One OOTS evidence request held for the person's preview (register.oots.previews).

    ``token`` is the secret part of the request's PreviewLocation: whoever holds it may ask for the
    page, so it is 256 random bits. The row names the person by internal id only; the national id or
    eIDAS identifier the request carried is never stored.
    """

    __tablename__ = "oots_preview"
    __table_args__ = (
        CheckConstraint(f"state IN {PREVIEW_STATES!r}", name="state"),
        Index(None, "person_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    token: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[str] = mapped_column(Text)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    evidence_type: Mapped[str] = mapped_column(String(64))
    specification: Mapped[str] = mapped_column(String(32))
    # Who asked and why (the requester agent, the procedure, the requirements): shown on the page.
    request: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(16), server_default="pending")
    created_at: Mapped[dt.datetime] = timestamp_now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
