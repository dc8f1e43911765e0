from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from register.models.base import Base, timestamp_now
from register.sectors import OrganisationKind

ORGANISATION_KINDS = tuple(kind.value for kind in OrganisationKind)
CODE_SCHEMES = ("nsr", "fs", "erasmus", "schac", "pic", "issuer")

organisation_delivery = Table(
    "organisation_delivery",
    Base.metadata,
    Column("deliverer_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
    Column("on_behalf_of_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
    Index(None, "on_behalf_of_id"),
)


class Organisation(Base):
    """A school, county, fagskole, university or course provider; foreign institutions have no orgnr."""

    __tablename__ = "organisation"
    __table_args__ = (CheckConstraint(f"kind IN {ORGANISATION_KINDS!r}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    orgnr: Mapped[str | None] = mapped_column(String(9), unique=True)
    name_nb: Mapped[str] = mapped_column(Text)
    name_nn: Mapped[str | None] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    # The language of name_nb, the main name: "nb" for Norwegian organisations, the organisation's own
    # language for a foreign one ("pl" for Uniwersytet Warszawski), None where unknown.
    name_lang: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2), server_default="NO")
    # The county (fylke) of a Norwegian organisation, SSB's code (register.classifications.COUNTIES);
    # the statistics group by it (migration 0010). Not a check constraint: counties change by reform.
    county: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = timestamp_now()

    codes: Mapped[list[OrganisationCode]] = relationship(back_populates="organisation", lazy="raise")
    delivers_for: Mapped[list[Organisation]] = relationship(
        secondary=organisation_delivery,
        primaryjoin=lambda: Organisation.id == organisation_delivery.c.deliverer_id,
        secondaryjoin=lambda: Organisation.id == organisation_delivery.c.on_behalf_of_id,
        lazy="raise",
    )


class OrganisationCode(Base):
    """The cross-walk: an organisation's code in another system (NSR, FS, Erasmus, SCHAC, PIC, issuer)."""

    __tablename__ = "organisation_code"
    __table_args__ = (
        UniqueConstraint("scheme", "value"),
        CheckConstraint(f"scheme IN {CODE_SCHEMES!r}", name="scheme"),
        Index(None, "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    scheme: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship(back_populates="codes", lazy="raise")
