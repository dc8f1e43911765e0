"""Wallet issuance (register.wallet): offers, access tokens, nonces and the credentials given out.

Secrets (pre-authorized codes, transaction codes, access tokens, nonces) are stored as their SHA-256
only: a copy of the database lets no one redeem an offer or call the credential endpoint.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from register.models.base import Base, timestamp_now, uuid_pk


class WalletOffer(Base):
    """A credential offer: one pre-authorized code (single use, short-lived) and its transaction code."""

    __tablename__ = "wallet_offer"
    __table_args__ = (Index(None, "person_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    tx_code_hash: Mapped[bytes] = mapped_column(LargeBinary)
    # Which credentials the offer is for: configuration id -> the achievements each covers.
    configuration_ids: Mapped[list[str]] = mapped_column(ARRAY(Text))
    achievement_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    created_by: Mapped[str] = mapped_column(Text)  # "citizen" or "cli"
    created_at: Mapped[dt.datetime] = timestamp_now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")


class WalletAccessToken(Base):
    """An access token the token endpoint gave for a redeemed offer (opaque; stored hashed)."""

    __tablename__ = "wallet_access_token"
    __table_args__ = (Index(None, "offer_id"),)

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    offer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("wallet_offer.id", ondelete="CASCADE"))
    person_id: Mapped[uuid.UUID]  # the offer's: every person-scoped table carries it (docs/scaling.md)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WalletNonce(Base):
    """A ``c_nonce`` from the nonce endpoint: one key proof may use it, once, before it expires."""

    __tablename__ = "wallet_nonce"
    __table_args__ = (Index(None, "expires_at"),)

    nonce_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WalletCredential(Base):
    """One issued credential and its entry in a status list (IETF Token Status List, 1 bit)."""

    __tablename__ = "wallet_credential"
    __table_args__ = (
        UniqueConstraint("status_list", "status_index"),
        CheckConstraint("status IN (0, 1)", name="status"),
        # The revocation hook finds credentials by the achievements they hold (array overlap).
        Index(None, "achievement_ids", postgresql_using="gin"),
        Index(None, "person_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"))
    offer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("wallet_offer.id", ondelete="SET NULL"))
    configuration_id: Mapped[str] = mapped_column(Text)
    achievement_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    holder_jkt: Mapped[str] = mapped_column(Text)  # RFC 7638 thumbprint of the holder key in cnf
    status_list: Mapped[int] = mapped_column(Integer)
    status_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(SmallInteger, server_default="0")  # 0 VALID, 1 INVALID
    issued_at: Mapped[dt.datetime] = timestamp_now()
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    invalidated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
