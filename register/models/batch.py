from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from register.models.base import Base, timestamp_now, uuid_pk

BATCH_STATUSES = ("received", "processing", "completed", "failed", "duplicate")
#: how a delivered chunk is kept: as delivered (before migration 0018), or a zstd frame of it
CHUNK_ENCODINGS = ("identity", "zstd")


class ImportBatch(Base):
    """One delivery. Written (with its raw bytes) before parsing starts, so nothing received is lost."""

    __tablename__ = "import_batch"
    __table_args__ = (
        CheckConstraint(f"status IN {BATCH_STATUSES!r}", name="status"),
        Index(None, "provider_id", "received_at"),
        # One completed import without rejections per (provider, file): an identical re-upload is
        # reported as its duplicate. A file that had rejections is processed again when re-sent (its
        # cause, a missing delivery relation say, may have been fixed since).
        Index(
            "uq_import_batch_completed_file",
            "provider_id",
            "sha256",
            unique=True,
            postgresql_where=text("status = 'completed' AND rejected = 0"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    provider_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    sector: Mapped[str] = mapped_column(String(16))
    format: Mapped[str | None] = mapped_column(String(32))
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default="received")
    submitted_by: Mapped[str | None] = mapped_column(Text)  # client id of the token, or "cli"
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("import_batch.id"))
    accepted: Mapped[int] = mapped_column(Integer, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, server_default="0")
    rejected: Mapped[int] = mapped_column(Integer, server_default="0")
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # Format-level facts: signature outcome and certificate subject, detected format version, …
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    failure: Mapped[str | None] = mapped_column(Text)
    # Records read so far while 'processing' (written per chunk in a short transaction of its own).
    records_done: Mapped[int] = mapped_column(Integer, server_default="0")
    received_at: Mapped[dt.datetime] = timestamp_now()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ImportBatchChunk(Base):
    """The raw bytes of a batch in chunks, so a large file is stored and read back in bounded memory.

    A chunk is kept as ``encoding`` says: 'zstd', a zstd frame of it (since migration 0018; read with
    ``intake.batches.delivered_chunks``), or 'identity', the bytes as delivered (the older chunks).
    """

    __tablename__ = "import_batch_chunk"
    __table_args__ = (CheckConstraint(f"encoding IN {CHUNK_ENCODINGS!r}", name="encoding"),)

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("import_batch.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    encoding: Mapped[str] = mapped_column(String(8), server_default="identity")


class ImportRejection(Base):
    """One rejected record of a batch: where (record, path), which rule (code) and why (message)."""

    __tablename__ = "import_rejection"

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("import_batch.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    record: Mapped[str] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)


RECORD_OUTCOMES = ("new", "changed", "unchanged")


class ImportRecord(Base):
    """One record of a batch that passed every check: its key, the achievement it is, what happened.

    Rejected records are in ``import_rejection``. Written set-based in the batch's transaction.
    """

    __tablename__ = "import_record"
    __table_args__ = (CheckConstraint(f"outcome IN {RECORD_OUTCOMES!r}", name="outcome"),)

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("import_batch.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # the record's place in the delivery
    ref: Mapped[str | None] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(Text)
    # No foreign key: written in bulk with the batch, and an achievement is never deleted.
    achievement_id: Mapped[uuid.UUID] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(16))


class KnownInput(Base):
    """A raw record a provider delivered before (``register.ingest.known_input``): the digest of its
    bytes (with the importer, its mapping version and the context it is read under) and what it made,
    kept only when every item it made was accepted. A re-send of the same bytes is counted unchanged
    without being parsed again, as long as those achievements still carry these content hashes."""

    __tablename__ = "known_input"

    # A provider's digests are its own: the same bytes from another provider are parsed (entitlement).
    provider_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    #: the first ``KEY_BYTES`` (16) of a sha256: a row per raw record, millions of them at national
    #: scale, so each byte counts (register.ingest.known_input says why 16 are enough)
    digest: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    #: what the importer needs to replay the record's effect on the rest of the file (a row naming
    #: its vitnemål first or again), or None
    note: Mapped[str | None] = mapped_column(Text)
    # No foreign key, as import_record: written in bulk, and the lookup checks each id and hash.
    achievement_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    #: the first ``HASH_BYTES`` (16) of each achievement's content hash as raw bytes, one after the
    #: other in the order of ``achievement_ids`` (as text in an array they took 89 bytes for one)
    content_hashes: Mapped[bytes] = mapped_column(LargeBinary)
