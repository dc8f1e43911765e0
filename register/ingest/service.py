"""``ingest``: a batch's items through the per-record checks, into staging, and written set-based."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from psycopg import Cursor
from sqlalchemy import Connection, text

from register import stats
from register.ingest.checks import OrganisationIndex, PersonMemo, RecordRejected, stage_record
from register.ingest.collector import collect_young, collector_paused
from register.ingest.known_input import KnownInputs, KnownSpan, SpanEnd, SpanItem, Spans, SpanStart
from register.ingest.result import MAX_REF, WARNING_LIMIT, IngestResult, Rejections
from register.ingest.staging import Staged, copy_chunk, create_staging_tables
from register.ingest.write import write
from register.records import AchievementRecord, BatchWarning, InvalidText, RecordError
from register.text import clean_text, find_invalid_text, find_overlong_text


# The automatic collector waits while a delivery is read; flush() collects after each chunk instead.
@collector_paused()
def ingest(
    conn: Connection,
    *,
    batch_id: uuid.UUID,
    provider_id: int,
    items: Iterable[AchievementRecord | RecordError | BatchWarning | SpanItem],
    allow_synthetic_ids: bool,
    chunk_rows: int = 10_000,
    on_record: Callable[[], None] | None = None,
    field_names: Mapping[str, str] | None = None,
    on_progress: Callable[[int], None] | None = None,
    known: KnownInputs | None = None,
) -> IngestResult:
    """Validate and write one batch of records in the caller's transaction.

    Upserts by (awarding organisation, source key) — the same result whichever entitled organisation
    delivers it: an identical re-send changes nothing, a changed record gets a new version (the old
    one kept in ``achievement_version``), a withdrawal is a status. Records that fail a rule are
    reported with reference, path, code and message, in the order of the delivery, their paths named
    as the delivery names them where the importer says how (``field_names``); the rest are written.
    ``on_progress`` is told the number of items (records and rejections) read so far after each chunk.
    ``known`` is the importer's ``ImportContext.known``: raw records delivered before by this provider
    (``register.ingest.known_input``), bound here to the organisations and remembered after the write.
    """
    result = IngestResult()
    cur: Cursor[Any] = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    rejections = Rejections(cur, batch_id, result, field_names)
    orgs = OrganisationIndex.load(conn, provider_id)
    if known is not None:
        known.bind(orgs.by_code, orgs.may_deliver_for)
    spans = Spans(known)

    create_staging_tables(conn)

    seen_specs: set[str] = set()
    persons = PersonMemo(allow_synthetic_ids)
    pending: list[tuple[int, AchievementRecord]] = []
    # Known raw records' items since the last flush (register.ingest.known_input): counted unchanged,
    # as the content hash would have counted them, without being read (Spans.fill_unchanged).
    known_count = 0

    def flush() -> None:
        nonlocal known_count
        hashed: list[tuple[int, AchievementRecord, str]] = []
        for seq, record in pending:
            overlong = find_overlong_text(record)
            if overlong is not None:  # before hashing: a 9 MiB name is not worth serializing
                rejections.add(
                    RecordError(record.ref[:MAX_REF], "text.too_long", overlong.message, overlong.path), seq
                )
                continue
            try:
                hashed.append((seq, record, record.content_hash()))
            except InvalidText as exc:
                path = find_invalid_text(dataclasses.replace(record, ref="")) or "record"
                rejections.add(
                    RecordError(clean_text(record.ref), "text.invalid_character", f"{path}: {exc}", path), seq
                )
        # One indexed query per chunk tells which records are stored with the same content: those
        # are counted unchanged and skip validation and staging, so a re-send costs little more
        # than reading the file.
        # Only for organisations the provider may deliver for: anyone else's key is not its business
        # (and is refused at staging).
        keyed = [(orgs.resolve(record.awarding_org), record.source_key) for _, record, _ in hashed]
        stored = _stored_hashes(conn, [(org, key) for org, key in keyed if org in orgs.may_deliver_for])
        staged: list[Staged] = []
        unchanged: list[tuple[int, str, str, uuid.UUID]] = []
        for (seq, record, content_hash), key in zip(hashed, keyed, strict=True):
            found = stored.get(key)
            if found is not None and found[0] == content_hash:
                unchanged.append((seq, clean_text(record.ref), record.source_key, found[1]))
                continue
            try:
                staged.append(stage_record(seq, record, content_hash, orgs, seen_specs, persons))
            except RecordRejected as rejected:
                rejections.add(RecordError(record.ref, rejected.code, rejected.message, rejected.path), seq)
        copy_chunk(cur, staged, unchanged)
        spans.copy(conn, cur)
        rejections.flush()
        pending.clear()
        known_count = 0
        collect_young()  # what the chunk left behind, before the next one is read

    # An item's position in the delivery (records and the importer's rejections counted alike) is the
    # staged record's ``seq`` and the rejection's: reports come out in the delivery's order.
    seq = 0
    for item in items:
        if isinstance(item, KnownSpan):
            spans.skip(item, seq, clean_text(item.ref), item.refs and [clean_text(ref) for ref in item.refs])
            seq += item.known.count
            known_count += item.known.count
            if on_record is not None:
                for _ in range(item.known.count):
                    on_record()
        elif isinstance(item, SpanStart):
            spans.start(item, seq)
        elif isinstance(item, SpanEnd):
            spans.end(item, seq)
        elif isinstance(item, BatchWarning):
            spans.warning()
            result.warning_count += 1
            if len(result.warnings) < WARNING_LIMIT:
                result.warnings.append(_clean_warning(item))
        elif isinstance(item, RecordError):
            seq += 1
            rejections.add(item, seq)
        else:
            seq += 1
            pending.append((seq, item))
            if on_record is not None:
                on_record()
        if len(pending) + known_count >= chunk_rows:
            flush()
            if on_progress is not None:
                on_progress(seq)
    flush()
    spans.fill_unchanged(conn)

    written = write(
        conn, batch_id=batch_id, provider_id=provider_id, rejections=rejections, entitled=orgs.may_deliver_for
    )
    spans.remember(conn, batch_id, provider_id)
    rejections.finish()
    result.accepted, result.new, result.changed = written.written, written.new, written.changed
    result.unchanged = written.total - written.written
    stats.mark_batch_pending(conn, batch_id)  # counted by the refresh after the commit
    return result


def _clean_warning(warning: BatchWarning) -> BatchWarning:
    return BatchWarning(
        code=clean_text(warning.code),
        message=clean_text(warning.message),
        record=None if warning.record is None else clean_text(warning.record),
        path=None if warning.path is None else clean_text(warning.path),
    )


def _stored_hashes(
    conn: Connection, keys: list[tuple[int | None, str]]
) -> dict[tuple[int | None, str], tuple[str, uuid.UUID]]:
    """The stored content hash and id of each (awarding organisation, source key): one probe of the
    unique (source key, awarding organisation) index per key; the pairs are matched here."""
    if not keys:
        return {}
    rows = conn.execute(
        text(
            """SELECT awarding_org_id, source_key, content_hash, id FROM achievement
               WHERE source_key = ANY(:keys) AND awarding_org_id = ANY(:orgs)"""
        ),
        {"keys": [key for _, key in keys], "orgs": list({org for org, _ in keys})},
    )
    wanted = set(keys)
    return {(org, key): (h, id_) for org, key, h, id_ in rows if (org, key) in wanted}
