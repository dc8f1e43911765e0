"""What an ingest reports, and its rejections: numbered, stored in ``import_rejection``, bounded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from psycopg import Cursor
from sqlalchemy import Connection, text

from register.records import BatchWarning, RecordError
from register.text import clean_text

#: errors kept in memory for the report; all of them are stored in import_rejection
REPORT_ERROR_LIMIT = 1000
#: rejections stored per batch (import_rejection); past this they are only counted
REJECTIONS_STORED = 100_000
#: characters of a rejection's record reference and path, and of its message, that are stored
MAX_REF = 1_000
MAX_MESSAGE = 4_000
#: warnings kept on the batch; past this only their number is (a warning per record is possible)
WARNING_LIMIT = 1000


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0  # new or changed (a withdrawal is a change)
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RecordError] = field(default_factory=list)  # the first REPORT_ERROR_LIMIT
    warnings: list[BatchWarning] = field(default_factory=list)  # the first WARNING_LIMIT
    warning_count: int = 0
    rejections_stored: int = 0


class Rejections:
    """Numbering, storage and the in-memory sample of a batch's rejections.

    Bounded both ways: written out every FLUSH_EVERY rejections (a file of a million broken lines must
    not sit in memory), and stored up to REJECTIONS_STORED per batch; past that they are counted, and
    the batch details say how many were stored.
    """

    FLUSH_EVERY = 5_000

    def __init__(self, cur: Cursor[Any], batch_id: uuid.UUID, result: IngestResult) -> None:
        self.cur, self.batch_id, self.result = cur, batch_id, result
        self.pending: list[RecordError] = []
        self.next_seq = 1

    @property
    def stored(self) -> int:
        return self.next_seq - 1

    def add(self, error: RecordError) -> None:
        self.result.rejected += 1
        if self.stored + len(self.pending) >= REJECTIONS_STORED:
            return
        # An importer's message may quote a delivered value: keep it storable whatever it holds, and
        # of a bounded length (a message quoting a 9 MiB value would be stored and shown whole).
        error = RecordError(
            clean_text(error.record[:MAX_REF]),
            clean_text(error.code[:MAX_REF]),
            clean_text(error.message[:MAX_MESSAGE]),
            None if error.path is None else clean_text(error.path[:MAX_REF]),
        )
        if len(self.result.errors) < REPORT_ERROR_LIMIT:
            self.result.errors.append(error)
        self.pending.append(error)
        if len(self.pending) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        with self.cur.copy(
            "COPY import_rejection (batch_id, seq, record, path, code, message) FROM STDIN"
        ) as copy:
            for error in self.pending:
                copy.write_row(
                    (self.batch_id, self.next_seq, error.record, error.path, error.code, error.message)
                )
                self.next_seq += 1
        self.pending.clear()

    def from_sql(self, conn: Connection, select_sql: str, params: dict[str, Any]) -> int:
        """Record rejections found by set-based SQL: ``select_sql`` yields (record, path, code, message)."""
        rows = conn.execute(text(select_sql), params).all()
        for record, path, code, message in rows:
            self.add(RecordError(record=record, path=path, code=code, message=message))
        return len(rows)
