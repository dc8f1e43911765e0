"""The import job: the edge that owns the transactions of one delivery.

A delivery goes through two transactions, on purpose:

1. **receive** — the raw bytes are stored (in 1 MiB chunks) with their sha256 on a new
   ``import_batch`` row and committed before anything is parsed: nothing received is ever lost, even a
   file no importer can read.
2. **process** — the importer streams the file, the ingest service writes, and the batch row is marked
   ``completed`` in the same transaction. If anything fails, all of it rolls back and the batch is
   marked ``failed`` with the reason, in a transaction of its own; re-sending the file completes it.

After a completed batch the analysts' roll-ups are refreshed in a third transaction (``register.stats``;
or only by the server's timer, when ``REGISTER_STATS_REFRESH=background``): the batch's transaction
no longer carries them, many batches are counted in one refresh, and a failed refresh never fails the
import (its persons stay pending).

A file whose sha256 matches a completed batch of the same provider that had no rejections is recorded
as ``duplicate`` (with that batch's counts) and not parsed again; a file that had rejections is
processed again, since their cause may have been fixed. A unique index on completed (provider, sha256)
without rejections makes that hold even for two identical uploads at the same moment: the second to
commit fails on it and is reported as the duplicate.

Over 500 lines on purpose: receiving, processing and recovering share the batch row's states and the
batch lock, and every transition of a batch is read here in one place (the report is ``intake.report``,
the dry run ``intake.dry_run``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO, cast

import zstandard
from psycopg.errors import DeadlockDetected, SerializationFailure, UniqueViolation
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from importers.base import HEAD_BYTES, ImportContext, UnusableInput
from intake.registry import choose, parse_sector
from intake.report import BatchReport, Duplicate
from register import stats
from register.ingest import ingest
from register.ingest.known_input import KnownInputs
from register.locks import LockKey
from register.records import RecordError
from register.sectors import Sector
from register.settings import Settings, get_settings
from register.text import clean_json, clean_text

log = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
#: Each stored chunk is a zstd frame (``import_batch_chunk.encoding`` 'zstd'). PostgreSQL's own
#: compression (pglz; this embedded server has no lz4) took a third of a second for the 52 MB
#: micro-credential file of the national benchmark, a quarter of its re-send; stored as zstd frames
#: at level 3, a 21 MB one took 9 ms against pglz's 80 ms, in a quarter of the space. Each frame
#: carries its size, so a chunk is read back into exactly that much memory.
_CHUNK_COMPRESSION_LEVEL = 3


class ProviderUnknown(UnusableInput):
    def __init__(self, orgnr: str) -> None:
        super().__init__("provider.unknown", f"the providing organisation {orgnr} is not registered")


@dataclass(slots=True)
class ReceivedBatch:
    batch_id: uuid.UUID
    provider_id: int
    sector: Sector
    spool: BinaryIO  # the delivery, readable from the start
    sha256: str
    duplicate: Duplicate | None


def provider_id_for(conn: Connection, orgnr: str) -> int:
    found = conn.execute(text("SELECT id FROM organisation WHERE orgnr = :o"), {"o": orgnr.strip()}).scalar()
    if found is None:
        raise ProviderUnknown(orgnr)
    return int(found)


def delivery_label(value: str | None) -> str | None:
    """A delivery's file name or content type as stored: a label, never a path or a header — one line
    of storable text, at most 255 characters."""
    return None if value is None else clean_text(value, single_line=True)[:255]


def receive(
    engine: Engine,
    source: BinaryIO,
    *,
    sector: str,
    provider_orgnr: str,
    filename: str | None = None,
    content_type: str | None = None,
    submitted_by: str | None = None,
    settings: Settings | None = None,
    hand_over: bool = False,
) -> ReceivedBatch:
    """Store the delivery's bytes on a new batch row and commit. Raises UnusableInput for a bad sector,
    an unknown provider or a file over the size limit (then nothing is stored).

    With ``hand_over`` the caller gives up ``source`` (a seekable file it has already written, such as
    the API's spooled upload): it becomes the batch's ``spool``, rewound, instead of being copied into
    another one, so an upload is written to disk once. Otherwise ``source`` stays the caller's.
    """
    settings = settings or get_settings()
    sector_ = parse_sector(sector)
    filename, content_type = delivery_label(filename), delivery_label(content_type)
    # Returned to the caller, who closes it: the importer reads the delivery from here, not from the database.
    spool = (
        None if hand_over else cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=16 * CHUNK_BYTES))  # noqa: SIM115
    )
    digest = hashlib.sha256()
    size = 0
    batch_id = uuid.uuid4()
    with engine.begin() as conn:
        provider_id = provider_id_for(conn, provider_orgnr)
        conn.execute(
            text(
                """INSERT INTO import_batch (id, provider_id, sector, filename, content_type, sha256, size_bytes,
                                             submitted_by)
                   VALUES (:id, :provider, :sector, :filename, :ctype, '', 0, :by)"""
            ),
            {
                "id": batch_id,
                "provider": provider_id,
                "sector": sector_.value,
                "filename": filename,
                "ctype": content_type,
                "by": submitted_by,
            },
        )
        seq = 0
        compressor = zstandard.ZstdCompressor(level=_CHUNK_COMPRESSION_LEVEL)
        while chunk := source.read(CHUNK_BYTES):
            size += len(chunk)
            if size > settings.max_upload_bytes:
                raise UnusableInput(
                    "input.too_large",
                    f"the delivery is larger than the limit of {settings.max_upload_bytes} bytes",
                )
            digest.update(chunk)
            if spool is not None:
                spool.write(chunk)
            conn.execute(
                text(
                    """INSERT INTO import_batch_chunk (batch_id, seq, data, encoding)
                       VALUES (:b, :s, :d, 'zstd')"""
                ),
                {"b": batch_id, "s": seq, "d": compressor.compress(chunk)},
            )
            seq += 1
        sha256 = digest.hexdigest()
        conn.execute(
            text("UPDATE import_batch SET sha256 = :h, size_bytes = :n WHERE id = :id"),
            {"h": sha256, "n": size, "id": batch_id},
        )
        duplicate = _mark_duplicate(conn, batch_id)
    if spool is None:
        spool = source
    spool.seek(0)
    return ReceivedBatch(batch_id, provider_id, sector_, spool, sha256, duplicate)


def _mark_duplicate(conn: Connection, batch_id: uuid.UUID) -> Duplicate | None:
    """Mark the batch a duplicate if its file completed before without rejections; the earlier batch.

    The duplicate carries the earlier batch's counts (what that file did when it was imported), so an
    answer ``duplicate`` says what the file holds, not "0 accepted, 0 rejected".
    """
    # Only a completed batch without rejections makes an identical file a duplicate: a file whose
    # records were rejected is processed again when re-sent, because the cause may have been fixed in
    # the register since (a delivery relation added); answering ``duplicate`` would never import them.
    row = conn.execute(
        text(
            """UPDATE import_batch b SET status = 'duplicate', finished_at = now(), duplicate_of = o.id,
                      accepted = o.accepted, unchanged = o.unchanged, rejected = o.rejected
               FROM import_batch o
               WHERE b.id = :id AND o.provider_id = b.provider_id AND o.sha256 = b.sha256
                 AND o.status = 'completed' AND o.rejected = 0
               RETURNING o.id, o.accepted, o.unchanged, o.rejected"""
        ),
        {"id": batch_id},
    ).first()
    return None if row is None else Duplicate(row.id, row.accepted, row.unchanged, row.rejected)


def process(
    engine: Engine,
    received: ReceivedBatch,
    *,
    provider_orgnr: str,
    filename: str | None = None,
    content_type: str | None = None,
    settings: Settings | None = None,
    on_record: Callable[[], None] | None = None,
) -> BatchReport:
    """Parse and ingest a received batch in one transaction; on failure mark it failed."""
    settings = settings or get_settings()
    if received.duplicate is not None:
        return received.duplicate.report(received.batch_id, received.sector.value)
    with engine.connect() as lock_conn:
        # Held for as long as this process works on the batch, and released by PostgreSQL if the process
        # dies: recover_interrupted() marks a 'processing' batch failed when nobody holds its lock.
        _lock_batch(lock_conn, received.batch_id)
        try:
            taken_by_another = _claim(engine, received.batch_id)
            if taken_by_another is not None:
                # A queued batch may be resumed by another server process (resume_received): the one
                # that claims it under the lock processes it, the other finds it taken and stops.
                log.info("batch %s is already %s; not processed again", received.batch_id, taken_by_another)
                return BatchReport(
                    batch_id=received.batch_id, status=taken_by_another, sector=received.sector.value
                )
            for attempt in range(1, ATTEMPTS + 1):
                received.spool.seek(0)
                context = import_context(received.sector, provider_orgnr, filename, content_type, settings)
                report = BatchReport(
                    batch_id=received.batch_id, status="processing", sector=received.sector.value
                )
                try:
                    report = _process_locked(
                        engine, received, report, context, filename, content_type, settings, on_record,
                        last_attempt=attempt == ATTEMPTS,
                    )  # fmt: skip
                    break
                except _TransientFailure:
                    log.warning(
                        "batch %s met a concurrent batch (attempt %d); trying again",
                        received.batch_id,
                        attempt,
                    )
                    time.sleep(0.05 * attempt)
        finally:
            _unlock_batch(lock_conn, received.batch_id)
    if report.status == "completed" and settings.stats_refresh == "after_import":
        refresh_statistics(engine)
    return report


def import_context(
    sector: Sector, provider_orgnr: str, filename: str | None, content_type: str | None, settings: Settings
) -> ImportContext:
    return ImportContext(
        sector=sector,
        provider_orgnr=provider_orgnr,
        filename=filename,
        content_type=content_type,
        settings=settings,
    )


def ingest_delivery(
    conn: Connection,
    report: BatchReport,
    batch_id: uuid.UUID,
    provider_id: int,
    spool: BinaryIO,
    context: ImportContext,
    settings: Settings,
    *,
    on_record: Callable[[], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Choose the importer and run the ingest in ``conn``'s transaction; the report gets the outcome.
    The one path of a real import and of a dry run (``intake.dry_run``), so the two answer alike."""
    head = spool.read(HEAD_BYTES)
    spool.seek(0)
    importer = choose(context.sector, head, context.filename, context.content_type)
    report.format = importer.name
    # Raw records this provider delivered before are not parsed again (register.ingest.known_input).
    context.known = KnownInputs(conn, provider_id)
    result = ingest(
        conn,
        batch_id=batch_id,
        provider_id=provider_id,
        items=importer.extract(spool, context),
        allow_synthetic_ids=settings.synthetic_ids_allowed,
        chunk_rows=settings.import_chunk_rows,
        on_record=on_record,
        on_progress=on_progress,
        field_names=importer.field_names,
        known=context.known,
    )
    report.accepted, report.unchanged, report.rejected = result.accepted, result.unchanged, result.rejected
    report.new, report.changed = result.new, result.changed
    report.errors, report.warnings = result.errors, result.warnings
    report.details = clean_json(context.facts.details)
    if result.warning_count > len(result.warnings):
        report.details["warnings_total"] = result.warning_count
    if result.rejections_stored < result.rejected:
        report.details["rejections_stored"] = result.rejections_stored
    report.status = "completed"


def refresh_statistics(engine: Engine) -> None:
    """Count the pending persons in the roll-ups; a failure is logged, never the import's failure."""
    try:
        stats.refresh_pending(engine)
    except Exception:
        # The batch is committed and its persons stay pending: the next refresh counts them.
        log.exception("statistics refresh failed; the persons stay pending for the next refresh")


def _process_locked(
    engine: Engine,
    received: ReceivedBatch,
    report: BatchReport,
    context: ImportContext,
    filename: str | None,
    content_type: str | None,
    settings: Settings,
    on_record: Callable[[], None] | None,
    *,
    last_attempt: bool,
) -> BatchReport:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE import_batch SET status = 'processing' WHERE id = :id"), {"id": received.batch_id}
        )
    try:
        with engine.begin() as conn:
            ingest_delivery(
                conn, report, received.batch_id, received.provider_id, received.spool, context, settings,
                on_record=on_record, on_progress=partial(_record_progress, engine, received.batch_id),
            )  # fmt: skip
            conn.execute(
                text(
                    """UPDATE import_batch SET status = 'completed', format = :format, accepted = :a,
                              unchanged = :u, rejected = :r, records_done = :a + :u + :r,
                              warnings = CAST(:w AS jsonb), details = CAST(:d AS jsonb), finished_at = now()
                       WHERE id = :id"""
                ),
                {
                    "format": report.format,
                    "a": report.accepted,
                    "u": report.unchanged,
                    "r": report.rejected,
                    "w": _json(report.as_dict()["warnings"]),
                    "d": _json(clean_json(context.facts.details)),
                    "id": received.batch_id,
                },
            )
    except UnusableInput as exc:
        report.status = "failed"
        report.failure = RecordError(record="file", code=exc.code, message=clean_text(exc.message))
        report.accepted = report.unchanged = report.rejected = 0
        report.errors = []
        _mark_failed(engine, received.batch_id, report.format, f"{exc.code}: {exc.message}")
    except IntegrityError as exc:
        if not isinstance(exc.orig, UniqueViolation) or "uq_import_batch_completed_file" not in str(exc.orig):
            _mark_failed(engine, received.batch_id, report.format, "internal error")
            raise
        # An identical delivery completed (without rejections) while this one was being processed.
        with engine.begin() as conn:
            duplicate = _mark_duplicate(conn, received.batch_id)
        assert duplicate is not None  # the unique index named it: it is there
        report = duplicate.report(received.batch_id, received.sector.value)
    except DBAPIError as exc:
        if not last_attempt and isinstance(exc.orig, DeadlockDetected | SerializationFailure):
            # Two batches met on the same new persons in opposite order; the transaction rolled back
            # and nothing of it is left, so the whole batch can simply run again.
            raise _TransientFailure from exc
        _mark_failed(engine, received.batch_id, report.format, "internal error")
        raise
    except BaseException:
        # Unexpected: the transaction rolled back; record that the batch failed, then let it surface
        # (the CLI and API turn it into a generic error; the log has the traceback, never person data).
        _mark_failed(engine, received.batch_id, report.format, "internal error")
        raise
    return report


def _record_progress(engine: Engine, batch_id: uuid.UUID, records_done: int) -> None:
    """The records a processing batch has read so far, for a client polling it: committed per chunk in
    a short transaction of its own (the batch's own transaction is visible only when it ends). The
    ingest's rows hold only key-share locks on the batch row, so this update never waits for them."""
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE import_batch SET records_done = :n WHERE id = :id AND status = 'processing'"),
            {"n": records_done, "id": batch_id},
        )


ATTEMPTS = 3  # a batch that loses a deadlock to a concurrent batch runs again, this many times in all


class _TransientFailure(Exception):
    """The batch's transaction was rolled back by the database to resolve a conflict; run it again."""


INTERRUPTED = (
    "import.interrupted: the process importing this batch stopped before it finished; send the file again"
)


def _lock_batch(conn: Connection, batch_id: uuid.UUID) -> None:
    conn.execute(
        text("SELECT pg_advisory_lock(:k, hashtext(:id))"), {"k": LockKey.BATCH, "id": str(batch_id)}
    )
    conn.commit()


def _unlock_batch(conn: Connection, batch_id: uuid.UUID) -> None:
    try:
        conn.execute(
            text("SELECT pg_advisory_unlock(:k, hashtext(:id))"), {"k": LockKey.BATCH, "id": str(batch_id)}
        )
        conn.commit()
    except Exception:  # the connection is gone with its lock; never return it to the pool
        conn.invalidate()


def _claim(engine: Engine, batch_id: uuid.UUID) -> str | None:
    """Move a 'received' batch to 'processing' (under its lock); its status if it was not 'received'."""
    with engine.begin() as conn:
        claimed = conn.execute(
            text(
                """UPDATE import_batch SET status = 'processing' WHERE id = :id AND status = 'received'
                   RETURNING id"""
            ),
            {"id": batch_id},
        ).scalar()
        if claimed is not None:
            return None
        status = conn.execute(
            text("SELECT status FROM import_batch WHERE id = :id"), {"id": batch_id}
        ).scalar()
        return str(status)


#: A batch 'received' this long ago that no worker has claimed is taken as abandoned and resumed: a
#: live upload claims its batch milliseconds after storing it, a live queue may hold one longer (two
#: workers busy with large files), and resuming such a one early costs nothing but the order —
#: whichever process claims it first processes it (``_claim``).
RESUME_AFTER_SECONDS = 30


def abandoned_received(
    engine: Engine, *, older_than_seconds: float = RESUME_AFTER_SECONDS
) -> list[uuid.UUID]:
    """The batches 'received' more than ``older_than_seconds`` ago that no worker has claimed, oldest first.

    They are what a server left behind when it stopped after answering 202 and before its worker took
    the batch up (only 'processing' batches hold a lock, so a stopped server's queue leaves no trace).
    """
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT id FROM import_batch
                   WHERE status = 'received' AND received_at < now() - make_interval(secs => :s)
                   ORDER BY received_at"""
            ),
            {"s": older_than_seconds},
        )
        return [row.id for row in rows]


def delivered_chunks(conn: Connection, batch_id: uuid.UUID) -> Iterator[bytes]:
    """The bytes a batch was delivered with, in order, a chunk at a time (as ``receive`` stored them)."""
    decompressor = zstandard.ZstdDecompressor()
    rows = conn.execution_options(stream_results=True, yield_per=4).execute(
        text("SELECT data, encoding FROM import_batch_chunk WHERE batch_id = :id ORDER BY seq"),
        {"id": batch_id},
    )
    for row in rows:
        yield decompressor.decompress(row.data) if row.encoding == "zstd" else row.data


def resume_received(
    engine: Engine, batch_id: uuid.UUID, *, settings: Settings | None = None
) -> BatchReport | None:
    """Process a stored 'received' batch from its stored bytes; None if it is not 'received' (any more)."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                """SELECT b.id, b.provider_id, o.orgnr, b.sector, b.filename, b.content_type, b.sha256
                   FROM import_batch b JOIN organisation o ON o.id = b.provider_id
                   WHERE b.id = :id AND b.status = 'received'"""
            ),
            {"id": batch_id},
        ).first()
        if row is None:
            return None
        spool = cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=16 * CHUNK_BYTES))  # noqa: SIM115
        for chunk in delivered_chunks(conn, batch_id):
            spool.write(chunk)
    spool.seek(0)
    received = ReceivedBatch(row.id, row.provider_id, Sector(row.sector), spool, row.sha256, None)
    log.info("resuming batch %s, received but never processed", batch_id)
    with spool:
        return process(
            engine,
            received,
            provider_orgnr=row.orgnr,
            filename=row.filename,
            content_type=row.content_type,
            settings=settings,
        )


def recover_interrupted(engine: Engine, *, received_grace: str | None = "1 hour") -> int:
    """Mark failed the batches whose importing process died (killed, machine lost); returns how many.

    A batch being processed holds its advisory lock; one in 'processing' whose lock nobody holds was
    abandoned. A batch 'received' but never picked up within ``received_grace`` was abandoned too —
    unless ``received_grace`` is None: the server passes None, because it resumes every 'received'
    batch from its stored bytes at start (``api.rest.batches.resume_abandoned``), however long it was
    down, rather than fail what it can still complete.
    Run at start-up of the server and of every CLI import; the file is kept, so a re-send completes it.
    """
    with engine.begin() as conn:
        return conn.execute(
            text(
                """UPDATE import_batch SET status = 'failed', failure = :why, finished_at = now()
                   WHERE (status = 'processing'
                          OR (status = 'received' AND CAST(:grace AS interval) IS NOT NULL
                              AND received_at < now() - CAST(:grace AS interval)))
                     AND pg_try_advisory_xact_lock(:k, hashtext(id::text))"""
            ),
            {"why": INTERRUPTED, "grace": received_grace, "k": LockKey.BATCH},
        ).rowcount


def _mark_failed(engine: Engine, batch_id: uuid.UUID, fmt: str | None, failure: str) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    """UPDATE import_batch SET status = 'failed', format = coalesce(:f, format), failure = :why,
                              finished_at = now() WHERE id = :id"""
                ),
                {"f": fmt, "why": clean_text(failure), "id": batch_id},
            )
    except Exception:  # the database may be the thing that failed; the batch then stays 'processing'
        log.exception("could not mark batch %s failed", batch_id)


def run_import(
    engine: Engine,
    source: BinaryIO,
    *,
    sector: str,
    provider_orgnr: str,
    filename: str | None = None,
    content_type: str | None = None,
    submitted_by: str | None = None,
    settings: Settings | None = None,
    on_record: Callable[[], None] | None = None,
    hand_over: bool = False,
) -> BatchReport:
    """Receive and process one delivery. Raises UnusableInput only before anything is stored (unknown
    sector or provider, over the size limit); every later failure is in the report. ``hand_over`` as
    for ``receive`` (the source is closed when the import is done)."""
    received = receive(
        engine,
        source,
        sector=sector,
        provider_orgnr=provider_orgnr,
        filename=filename,
        content_type=content_type,
        submitted_by=submitted_by,
        settings=settings,
        hand_over=hand_over,
    )
    with received.spool:
        return process(
            engine,
            received,
            provider_orgnr=provider_orgnr,
            filename=filename,
            content_type=content_type,
            settings=settings,
            on_record=on_record,
        )


def settle_if_interrupted(conn: Connection, batch_id: uuid.UUID) -> None:
    """Mark one batch failed if it is 'processing' but its importer is gone (its lock is free: the
    process died, or lost the database mid-way), so that reading its status says what happened."""
    conn.execute(
        text(
            """UPDATE import_batch SET status = 'failed', failure = :why, finished_at = now()
               WHERE id = :id AND status = 'processing' AND pg_try_advisory_xact_lock(:k, hashtext(id::text))"""
        ),
        {"id": batch_id, "why": INTERRUPTED, "k": LockKey.BATCH},
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
