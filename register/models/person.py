from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.classifications import GENDERS
from register.identifiers import NinKind
from register.models.base import Base, timestamp_now, uuid_pk

# The Norwegian numbers (identifiers.NinKind), then the European Student Identifier and a foreign id.
IDENTIFIER_KINDS = (*(kind.value for kind in NinKind), "esi", "foreign")


class Person(Base):
    """A learner. Keyed by an internal UUID; the national id is an identifier row, never a key."""

    __tablename__ = "person"
    # The gender check; and OOTS finds a person without an identifier by names and birth date
    # (register.oots.matching), by this index.
    __table_args__ = (
        CheckConstraint(f"gender IN {tuple(GENDERS)!r}", name="gender"),
        Index(None, "birth_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    given_name: Mapped[str | None] = mapped_column(Text)
    family_name: Mapped[str | None] = mapped_column(Text)
    # Only as delivered (ELMO bday/dateOfBirth); never derived from the national id.
    birth_date: Mapped[dt.date | None]
    # Only as delivered (ELMO gender), never derived from the national id (docs/statistics.md).
    gender: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = timestamp_now()

    identifiers: Mapped[list[PersonIdentifier]] = relationship(back_populates="person", lazy="raise")


class PersonIdentifier(Base):
    """One identifier of a person. A D-nummer later replaced by a fødselsnummer keeps both rows."""

    __tablename__ = "person_identifier"
    __table_args__ = (
        UniqueConstraint("kind", "scheme", "value"),
        CheckConstraint(f"kind IN {IDENTIFIER_KINDS!r}", name="kind"),
        Index(None, "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # Namespace of the value: '' for Norwegian numbers, the issuing country (ISO 3166-1) for foreign ids.
    scheme: Mapped[str] = mapped_column(String(64), server_default="")
    value: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]
    created_at: Mapped[dt.datetime] = timestamp_now()

    person: Mapped[Person] = relationship(back_populates="identifiers", lazy="raise")


class PersonHistory(Base):
    """Append-only: the names and birth date a person had before a delivery replaced them.

    The current values are on ``person``; a row here holds the values as they were until the batch
    ``replaced_by_batch_id`` delivered others (register.identity, rule I8).
    """

    __tablename__ = "person_history"
    __table_args__ = (Index(None, "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    given_name: Mapped[str | None] = mapped_column(Text)
    family_name: Mapped[str | None] = mapped_column(Text)
    birth_date: Mapped[dt.date | None]
    gender: Mapped[str | None] = mapped_column(String(8))
    replaced_by_batch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_batch.id"))
    replaced_at: Mapped[dt.datetime] = timestamp_now()
