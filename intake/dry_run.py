"""A dry run: what importing a delivery would do, with nothing stored.

The honest way to know exactly what an import would do is to do it: the dry run runs the real
import path (``intake.batches.ingest_delivery``: the importer, every check, the identity rules, the
set-based writes) in one transaction and rolls it back. The batch row it needs (the rejections and
records refer to it), the achievements, the rejections, the statistics' pending persons and any audit
event of the transaction are all rolled back; the answer is the import's own report.

Concurrency: the dry run takes the same locks as an import (per awarding organisation, and the rows
it would insert), so it sees the register as an import at that moment would, waits for a concurrent
import of the same organisation as an import would, and makes one wait until it rolls back. A
deadlock with a concurrent import is retried like an import's.

One side effect survives on purpose: an identifier conflict (``person.identifier_conflict``) is
audited for the operators as it is for an import, marked as a dry run, because the conflict tells
the sender something about other persons' identifiers — a dry run must not be a way to probe for
them without a trace (docs/identity.md).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from typing import Any, BinaryIO, cast

from psycopg.errors import DeadlockDetected, SerializationFailure
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from importers.base import UnusableInput
from intake.batches import (
    ATTEMPTS,
    CHUNK_BYTES,
    delivery_label,
    import_context,
    ingest_delivery,
    provider_id_for,
)
from intake.registry import parse_sector
from intake.report import BatchReport, Duplicate
from register.audit import record_event
from register.records import RecordError
from register.sectors import Sector
from register.settings import Settings, get_settings
from register.text import clean_text


def dry_run(
    engine: Engine,
    source: BinaryIO,
    *,
    sector: str,
    provider_orgnr: str,
    filename: str | None = None,
    content_type: str | None = None,
    settings: Settings | None = None,
) -> BatchReport:
    """Validate and count a delivery as an import would, storing nothing; ``dry_run`` is set on the
    report and its ``batch_id`` is None. Raises UnusableInput where ``run_import`` would (unknown sector
    or provider, over the size limit); a file no importer reads is a report with status ``failed``."""
    settings = settings or get_settings()
    sector_ = parse_sector(sector)
    filename, content_type = delivery_label(filename), delivery_label(content_type)
    with cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=16 * CHUNK_BYTES)) as spool:
        sha256 = _spool(source, spool, settings.max_upload_bytes)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return _attempt(engine, spool, sector_.value, provider_orgnr, filename, content_type,
                                sha256, settings)  # fmt: skip
            except DBAPIError as exc:
                if attempt == ATTEMPTS or not isinstance(exc.orig, DeadlockDetected | SerializationFailure):
                    raise
                time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _spool(source: BinaryIO, spool: BinaryIO, limit: int) -> str:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise UnusableInput("input.too_large", f"the delivery is larger than the limit of {limit} bytes")
        digest.update(chunk)
        spool.write(chunk)
    return digest.hexdigest()


def _attempt(
    engine: Engine,
    spool: BinaryIO,
    sector: str,
    provider_orgnr: str,
    filename: str | None,
    content_type: str | None,
    sha256: str,
    settings: Settings,
) -> BatchReport:
    spool.seek(0)
    batch_id = uuid.uuid4()
    report = BatchReport(batch_id=batch_id, status="processing", sector=sector, dry_run=True)
    conflicts: list[dict[str, Any]] = []
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            provider_id = provider_id_for(conn, provider_orgnr)
            duplicate = _duplicate_of(conn, provider_id, sha256)
            if duplicate is not None:
                report = duplicate
                report.dry_run = True
            else:
                conn.execute(
                    text(
                        """INSERT INTO import_batch (id, provider_id, sector, filename, content_type, sha256,
                                                     size_bytes, status, submitted_by)
                           VALUES (:id, :p, :s, :f, :c, :h, 0, 'processing', 'dry-run')"""
                    ),
                    {"id": batch_id, "p": provider_id, "s": sector, "f": filename, "c": content_type,
                     "h": sha256},
                )  # fmt: skip
                context = import_context(Sector(sector), provider_orgnr, filename, content_type, settings)
                try:
                    ingest_delivery(conn, report, batch_id, provider_id, spool, context, settings)
                except UnusableInput as exc:
                    report.status = "failed"
                    report.failure = RecordError(
                        record="file", code=exc.code, message=clean_text(exc.message)
                    )
                    report.accepted = report.unchanged = report.rejected = 0
                    report.errors = []
                conflicts = _conflicts_audited(conn, batch_id)
        finally:
            transaction.rollback()
    if conflicts:
        _audit_conflicts(engine, provider_orgnr, conflicts)
    report.batch_id = None  # nothing was stored under it
    return report


def _duplicate_of(conn: Connection, provider_id: int, sha256: str) -> BatchReport | None:
    """What an import would answer for a file that completed before without rejections: duplicate."""
    row = conn.execute(
        text(
            """SELECT id, accepted, unchanged, rejected, sector FROM import_batch
               WHERE provider_id = :p AND sha256 = :h AND status = 'completed' AND rejected = 0"""
        ),
        {"p": provider_id, "h": sha256},
    ).first()
    if row is None:
        return None
    return Duplicate(row.id, row.accepted, row.unchanged, row.rejected).report(None, row.sector)


def _conflicts_audited(conn: Connection, batch_id: uuid.UUID) -> list[dict[str, Any]]:
    """The identifier-conflict audit events the ingest wrote in this (to be rolled back) transaction."""
    rows = conn.execute(
        text(
            """SELECT details FROM audit_event
               WHERE action = 'identity.conflict' AND details->>'batch_id' = :b"""
        ),
        {"b": str(batch_id)},
    )
    return [dict(row.details) for row in rows]


def _audit_conflicts(engine: Engine, provider_orgnr: str, conflicts: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for details in conflicts:
            details.pop("batch_id", None)  # rolled back: it names nothing
            record_event(
                conn,
                action="identity.conflict",
                client_id="ingest",
                organisation=provider_orgnr,
                details={**details, "dry_run": True},
            )
