from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.grading import AchievementKind
from register.models.base import Base, timestamp_now, uuid_pk
from register.models.organisation import Organisation
from register.models.specification import LearningSpecification
from register.sectors import Sector

ACHIEVEMENT_KINDS = tuple(kind.value for kind in AchievementKind)
SECTORS = tuple(sector.value for sector in Sector)
STATUSES = ("valid", "withdrawn")


class Achievement(Base):
    """The current state of one delivered result.

    Identity is (awarding organisation, source key): the key the result carries in its own system, so
    a re-send finds it whichever entitled organisation delivers it (a school, or its county on its
    behalf). ``provider_id`` says who delivered the current version. Every version, the first included, is also written to ``achievement_version`` (append-only).
    """

    __tablename__ = "achievement"
    __table_args__ = (
        # source_key first: the ingest also finds a parent by its key alone (then filters by person).
        UniqueConstraint("source_key", "awarding_org_id"),
        CheckConstraint(f"kind IN {ACHIEVEMENT_KINDS!r}", name="kind"),
        CheckConstraint(f"sector IN {SECTORS!r}", name="sector"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint("status = 'valid' OR withdrawal_reason IS NOT NULL", name="withdrawal_reason"),
        Index(None, "person_id"),
        Index(None, "part_of_id"),
        # What one batch wrote: the statistics refresh and batch reports look achievements up by batch.
        Index(None, "batch_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    source_key: Mapped[str] = mapped_column(Text)
    awarding_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    specification_id: Mapped[int] = mapped_column(ForeignKey("learning_specification.id"))
    sector: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    part_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("achievement.id"))
    grade_scheme: Mapped[str | None] = mapped_column(String(16))
    grade_value: Mapped[str | None] = mapped_column(Text)  # exactly as delivered
    grade_passed: Mapped[bool | None]
    # exactly as delivered (9.2857 stays 9.2857): no scale, see migration 0008
    credits: Mapped[Decimal | None] = mapped_column(Numeric())
    credit_scheme: Mapped[str | None] = mapped_column(String(16))
    completed_on: Mapped[dt.date | None]
    year: Mapped[int | None] = mapped_column(SmallInteger)
    term: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default="valid")
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    content_hash: Mapped[str] = mapped_column(String(64))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_batch.id"))
    created_at: Mapped[dt.datetime] = timestamp_now()
    updated_at: Mapped[dt.datetime] = timestamp_now()

    specification: Mapped[LearningSpecification] = relationship(lazy="raise")
    awarding_org: Mapped[Organisation] = relationship(foreign_keys=[awarding_org_id], lazy="raise")


class AchievementVersion(Base):
    """Append-only history: the full content of every version of every achievement."""

    __tablename__ = "achievement_version"

    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievement.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_batch.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AchievementAttachment(Base):
    """Evidence delivered with a result (a diploma PDF in an ELMO report): kept as bytes, never rendered."""

    __tablename__ = "achievement_attachment"
    __table_args__ = (Index(None, "achievement_id"), Index(None, "person_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("achievement.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"))
    media_type: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
