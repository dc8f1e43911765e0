"""Summary tables for analysts (migrations 0002, 0005, 0006, 0009), maintained by ``register.stats``.

``stats_person_cell`` is the finest grain: per person, the count and credits of their valid
achievements in each (sector, year, provider, level, field, nus, grade) cell. It is the source of truth
from which deltas are computed, and is keyed by person so it distributes with the person-scoped tables.

``stats_cell`` holds the kept roll-ups of that grain (the 32 combinations of sector, year, provider,
level and field; NUS and grade always aggregated away), told apart by ``rolled`` (bit set = dimension
aggregated away), with exact distinct-person counts. An analyst's query reads one ``rolled`` value of
it, or for NUS and grade one aggregate of ``stats_person_cell``; nothing scans achievements.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import text

from register.models.base import Base

#: a random bigint, drawn when the state row is made (the seed of the record keys): from
#: gen_random_uuid (a strong random source, unlike random()), 60 random bits of its first 16 hex digits
KEY_SEED_DEFAULT = (
    "CAST(CAST('x' || substr(replace(CAST(gen_random_uuid() AS text), '-', ''), 1, 16) AS bit(64)) AS bigint)"
)
_DIMENSION_COLUMNS = (
    "sector", "year", "provider_id", "level", "field", "nus", "grade_scheme", "grade_value",
)  # fmt: skip


class StatsPersonCell(Base):
    __tablename__ = "stats_person_cell"
    __table_args__ = (Index(None, "person_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[uuid.UUID]
    sector: Mapped[str] = mapped_column(String(16))
    year: Mapped[int | None] = mapped_column(SmallInteger)
    provider_id: Mapped[int | None] = mapped_column(Integer)  # the awarding organisation
    level: Mapped[str | None] = mapped_column(String(8))  # NKR level, or "EQF n" where only EQF is known
    field: Mapped[str | None] = mapped_column(String(16))  # ISCED-F code
    nus: Mapped[str | None] = mapped_column(String(16))  # NUS code
    grade_scheme: Mapped[str | None] = mapped_column(String(16))
    grade_value: Mapped[str | None] = mapped_column(Text)
    # The person's gender as delivered, and their age group in the result's year (migration 0010):
    # computed on demand only, never kept in stats_cell (register.stats.cube says why).
    gender: Mapped[str | None] = mapped_column(String(8))
    age_group: Mapped[str | None] = mapped_column(String(8))
    achievements: Mapped[int] = mapped_column(Integer)
    credits_ects: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")
    credits_fagskolepoeng: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")
    credits_hours: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")
    # The cell-key method's record keys (register.disclosure, migration 0009): the person's, and the sum
    # of this cell's achievements' modulo 2³².
    person_key: Mapped[int] = mapped_column(BigInteger, server_default="0")
    achievement_key: Mapped[int] = mapped_column(BigInteger, server_default="0")


class StatsCell(Base):
    __tablename__ = "stats_cell"
    __table_args__ = (
        # NULLS NOT DISTINCT: a null dimension is a value ("not recorded"), one cell like any other.
        Index(
            "uq_stats_cell_key",
            "rolled",
            *_DIMENSION_COLUMNS,
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rolled: Mapped[int] = mapped_column(SmallInteger)
    sector: Mapped[str | None] = mapped_column(String(16))
    year: Mapped[int | None] = mapped_column(SmallInteger)
    provider_id: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(8))
    field: Mapped[str | None] = mapped_column(String(16))
    nus: Mapped[str | None] = mapped_column(String(16))
    grade_scheme: Mapped[str | None] = mapped_column(String(16))
    grade_value: Mapped[str | None] = mapped_column(Text)
    achievements: Mapped[int] = mapped_column(BigInteger)
    persons: Mapped[int] = mapped_column(BigInteger)
    credits_ects: Mapped[Decimal] = mapped_column(Numeric(16, 2), server_default="0")
    credits_fagskolepoeng: Mapped[Decimal] = mapped_column(Numeric(16, 2), server_default="0")
    credits_hours: Mapped[Decimal] = mapped_column(Numeric(16, 2), server_default="0")
    # The cell keys: sums of the record keys of the cell's distinct persons and of its achievements,
    # modulo 2³²; the perturbation of every published figure is a function of them (register.disclosure).
    person_key: Mapped[int] = mapped_column(BigInteger, server_default="0")
    achievement_key: Mapped[int] = mapped_column(BigInteger, server_default="0")


class StatsPending(Base):
    """Persons whose achievements changed since the roll-ups last counted them (``register.stats``).

    An import adds its persons here in its own transaction; a refresh takes them out and recomputes
    them in another. Keyed by person, so a person touched by ten deliveries is recomputed once.
    """

    __tablename__ = "stats_pending"

    person_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class StatsState(Base):
    """One row: how many refreshes the roll-ups have had, and when the last one committed.

    The version changes with every refresh that changed something, so an answer computed from
    ``stats_cell`` can be cached until the version moves.
    """

    __tablename__ = "stats_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="1")
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The secret of the record keys (register.disclosure): random per database, never shown. Whoever knows
    # it and the ids can compute every cell's noise, so it is as secret as the data.
    key_seed: Mapped[int] = mapped_column(BigInteger, server_default=text(KEY_SEED_DEFAULT))
