from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from register.models.base import Base


class AuditEvent(Base):
    """Who read which person's data, when, with which scope. Append-only; chained by hash."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index(None, "person_id", "occurred_at"),
        Index(None, "occurred_at"),
        Index(None, "chain", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    request_id: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(String(9))
    scope: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    # Which of the parallel hash chains the row belongs to (register.audit.chain_of): 0 for events
    # without a person, 1–63 by person.
    chain: Mapped[int] = mapped_column(SmallInteger, server_default="0")
