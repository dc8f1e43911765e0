"""What an ingest reports, and its rejections: in the delivery's order, stored in ``import_rejection``,
bounded, and named in the delivery's own words."""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Mapping
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
    """Storage and the in-memory sample of a batch's rejections, in the delivery's order.

    Each rejection carries the position of its item in the delivery (the importer's n-th item), and
    that position is its ``seq`` in ``import_rejection``: the checks find some rejections while the file
    is read and the set-based SQL finds others after the last chunk, but a provider reads them row by
    row as the file has them. The report's sample is the REPORT_ERROR_LIMIT first by position.

    ``field_names`` turns the record's paths into the delivery's own (``person.identifiers[0]`` →
    ``fodselsnummer``), as the importer declares them (``Importer.field_names``).

    Bounded both ways: written out every FLUSH_EVERY rejections (a file of a million broken lines must
    not sit in memory), and stored up to REJECTIONS_STORED per batch; past that they are counted, and
    the batch details say how many were stored.
    """

    FLUSH_EVERY = 5_000

    def __init__(
        self,
        cur: Cursor[Any],
        batch_id: uuid.UUID,
        result: IngestResult,
        field_names: Mapping[str, str] | None = None,
    ) -> None:
        self.cur, self.batch_id, self.result = cur, batch_id, result
        self.field_names = field_names or {}
        self.pending: list[tuple[int, RecordError]] = []
        self.stored = 0
        # the sample: a max-heap on position (negated), so the earliest REPORT_ERROR_LIMIT stay
        self._sample: list[tuple[int, int, RecordError]] = []  # (-position, -order added, error)

    def add(self, error: RecordError, position: int) -> None:
        self.result.rejected += 1
        if self.stored + len(self.pending) >= REJECTIONS_STORED:
            return
        # An importer's message may quote a delivered value: keep it storable whatever it holds, and
        # of a bounded length (a message quoting a 9 MiB value would be stored and shown whole).
        path = None if error.path is None else self.field_names.get(error.path, error.path)
        error = RecordError(
            clean_text(error.record[:MAX_REF]),
            clean_text(error.code[:MAX_REF]),
            clean_text(error.message[:MAX_MESSAGE]),
            None if path is None else clean_text(path[:MAX_REF]),
        )
        entry = (-position, -(self.stored + len(self.pending)), error)
        if len(self._sample) < REPORT_ERROR_LIMIT:
            heapq.heappush(self._sample, entry)
        elif entry[:2] > self._sample[0][:2]:
            heapq.heapreplace(self._sample, entry)
        self.pending.append((position, error))
        if len(self.pending) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        with self.cur.copy(
            "COPY import_rejection (batch_id, seq, record, path, code, message) FROM STDIN"
        ) as copy:
            for position, error in self.pending:
                copy.write_row((self.batch_id, position, error.record, error.path, error.code, error.message))
        self.stored += len(self.pending)
        self.pending.clear()

    def finish(self) -> None:
        """Write what is pending, and put the report's sample in the delivery's order."""
        self.flush()
        self.result.errors = [
            error for *_, error in sorted(self._sample, key=lambda item: item[:2], reverse=True)
        ]
        self.result.rejections_stored = self.stored

    def from_sql(self, conn: Connection, select_sql: str, params: dict[str, Any]) -> int:
        """Record rejections found by set-based SQL: ``select_sql`` yields (seq, record, path, code,
        message), ``seq`` being the staged record's position in the delivery."""
        rows = conn.execute(text(select_sql), params).all()
        for position, record, path, code, message in rows:
            self.add(RecordError(record=record, path=path, code=code, message=message), position)
        return len(rows)
