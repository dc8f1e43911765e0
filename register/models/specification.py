from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.grading import SpecificationKind
from register.models.base import Base, timestamp_now
from register.models.organisation import Organisation

SPECIFICATION_KINDS = tuple(kind.value for kind in SpecificationKind)


class LearningSpecification(Base):
    """What can be achieved: a subject, course, programme, qualification, trade or micro-credential.

    Specifications are immutable values: the ingest looks them up by ``content_key`` (a hash of every
    field), so two providers delivering the same course text share one row, and a changed title is a
    new row while achievements delivered earlier keep pointing at the text they were awarded under.
    """

    __tablename__ = "learning_specification"
    __table_args__ = (
        CheckConstraint(f"kind IN {SPECIFICATION_KINDS!r}", name="kind"),
        CheckConstraint("eqf_level BETWEEN 1 AND 8", name="eqf_level"),
        Index(None, "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    content_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(Text)  # fagkode, emnekode, programme code …
    code_scheme: Mapped[str | None] = mapped_column(String(32))  # udir, fs, elmo-local, …
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[dict[str, str]] = mapped_column(JSONB)  # {"nb": …, "nn": …, "en": …}
    description: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    # exactly as delivered (9.2857 stays 9.2857): no scale, see migration 0008
    credits: Mapped[Decimal | None] = mapped_column(Numeric())
    credit_scheme: Mapped[str | None] = mapped_column(String(16))
    nkr_level: Mapped[str | None] = mapped_column(String(4))
    eqf_level: Mapped[int | None] = mapped_column(SmallInteger)
    nus_code: Mapped[str | None] = mapped_column(String(16))
    iscedf_code: Mapped[str | None] = mapped_column(String(16))
    learning_outcomes: Mapped[list[str] | None] = mapped_column(JSONB)
    # Sector-specific facts that have no column (ELM assessment type, form of participation, …).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = timestamp_now()

    owner: Mapped[Organisation | None] = relationship(lazy="raise")
