"""CSV rows delivered before: recognised by their digest, and not mapped again.

The protocol is ``register.ingest.known_input``'s. A raw record is one row, or, for an importer that
names a ``raw_record_column``, the adjacent rows that give that column one value (a vitnemål's
rows: their document id): one ``known_input`` row, one probe and one note for the vitnemål's twenty-odd
rows instead of one each (the remembering was 4.5 s of a 45 s first import of 200 000 rows at
national scale, each row a random insertion into an index of millions, and the table 5.4 GB). A
group's digest is the digest of its rows' digests, in order; a row reordered or changed makes it
unknown, and it is mapped, as a row is. Raw records are buffered a chunk at a time (bounded in rows
and in raw bytes), the chunk's digests are looked up in one statement, and then each raw record, in
order, is either a ``KnownSpan`` (what it made last time, counted unchanged) or its rows are made
``Row``s and mapped as always between ``SpanStart`` and ``SpanEnd``. A known row's values are never built.

A row is not quite a function of its bytes: the first row naming a vitnemål makes the vitnemål's
record too, and later rows must agree with it (``DocumentMemory``). So a row remembers what its
``check`` found, in its note: "new" with the document's key and fields, or "seen" with the key and a
digest of the fields. A known row is skipped only where replaying that check here finds the same: the
vitnemål not yet seen in this file for "new", seen with the same fields for "seen". Otherwise the row
is mapped, and says what a full read would say. The replay puts the document into the memory as
mapping the row would have (from the note: the row is not read), so the rows after it read alike.
A group is remembered only where its first row's check is its rows' one effect on the memory (every
later row found the same document "seen" with the same fields, or none names a document): its note is
that row's note with the number of records each row made, which name each record's row when the
group is counted unchanged. A note in another shape (an older one) is not replayed: the rows are
mapped, and remembered anew.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from importers.tabular.core import Row, TableItem
from importers.tabular.csv_reader import PendingRow
from importers.tabular.fields import DocumentMemory
from register.ingest.known_input import (
    CHUNK_BYTES,
    CHUNK_RECORDS,
    Known,
    KnownInputs,
    KnownSpan,
    SpanEnd,
    SpanStart,
)

if TYPE_CHECKING:
    from importers.base import Item
    from importers.tabular.importer import RowImporter

Fields = tuple[tuple[str, str | None], ...]

#: the rows one raw record may group: a vitnemål has twenty-odd; a longer run of one document id is
#: cut into raw records of this many (each still one probe and one note), or of ``CHUNK_BYTES``
MAX_GROUP_ROWS = 64


@dataclass(frozen=True, slots=True)
class _RawRecord:
    """One raw record of the file: a row, or a document's adjacent rows, with its digest."""

    rows: list[PendingRow]
    digest: bytes
    size: int


def extract(
    importer: RowImporter,
    items: Iterator[TableItem | PendingRow],
    documents: DocumentMemory,
    known: KnownInputs,
) -> Iterator[Item]:
    replay, notes = _Replay(documents), _Notes()
    chunk: list[TableItem | _RawRecord] = []
    count = size = 0
    for item in _raw_records(items, importer.raw_record_column):
        chunk.append(item)
        if isinstance(item, _RawRecord):
            count, size = count + len(item.rows), size + item.size
        else:
            count += 1  # a file of rejected lines is a chunk of rejections, bounded as rows are
        if count >= CHUNK_RECORDS or size >= CHUNK_BYTES:
            yield from _chunk(importer, chunk, documents, known, replay, notes)
            chunk, count, size = [], 0, 0
    yield from _chunk(importer, chunk, documents, known, replay, notes)


def _raw_records(
    items: Iterator[TableItem | PendingRow], column: str | None
) -> Iterator[TableItem | _RawRecord]:
    """The reader's items with its rows made raw records: each row alone, or, where ``column`` is
    named, the adjacent rows that give it one (non-empty) value together."""
    group: list[PendingRow] = []
    value: str | None = None
    size = 0  # the group's raw bytes: bounded as a chunk is (rows of up to 1 MiB each)
    names: list[str] | None = None  # the header the column was found in (a file has one), and where
    index: int | None = None
    for item in items:
        if not isinstance(item, PendingRow):
            if group:
                yield _raw_record(group, size)
                group = []
            yield item
            continue
        this = None
        if column is not None:
            if item.header.names is not names:
                names = item.header.names
                index = names.index(column) if column in names else None
            this = None if index is None else item.fields[index].strip() or None
        if (
            group
            and this is not None
            and this == value
            and len(group) < MAX_GROUP_ROWS
            and size + item.size <= CHUNK_BYTES
        ):
            group.append(item)
            size += item.size
            continue
        if group:
            yield _raw_record(group, size)
        group, value, size = [item], this, item.size
    if group:
        yield _raw_record(group, size)


def _raw_record(rows: list[PendingRow], size: int) -> _RawRecord:
    if len(rows) == 1:
        return _RawRecord(rows, rows[0].digest, size)
    # The rows' digests are of one length each: their concatenation is unambiguous, and its digest
    # differs from any one row's (short of a SHA-256 collision).
    return _RawRecord(rows, hashlib.sha256(b"".join(row.digest for row in rows)).digest(), size)


def _chunk(
    importer: RowImporter,
    chunk: list[TableItem | _RawRecord],
    documents: DocumentMemory,
    known: KnownInputs,
    replay: _Replay,
    notes: _Notes,
) -> Iterator[Item]:
    found = known.lookup([item.digest for item in chunk if isinstance(item, _RawRecord)])
    for item in chunk:
        if isinstance(item, Row):  # not asked for by this reader
            yield from importer.row_items(item, documents)
            continue
        if not isinstance(item, _RawRecord):
            yield item
            continue
        hit = found.get(item.digest)
        span = None if hit is None else _known_span(item, hit, replay)
        if span is not None:
            yield span
            continue
        yield SpanStart(item.digest)
        yield from _mapped(importer, item.rows, documents, notes)


def _known_span(record: _RawRecord, hit: Known, replay: _Replay) -> KnownSpan | None:
    """The known raw record as a span counted unchanged, if replaying its note here finds the same."""
    first = record.rows[0]
    if len(record.rows) == 1:
        return KnownSpan(first.ref, hit) if replay(hit.note) else None
    try:
        counts, note = json.loads(hit.note or "")
    except (ValueError, TypeError):
        return None
    if (
        not isinstance(counts, list)
        or len(counts) != len(record.rows)
        or not all(type(count) is int and count >= 0 for count in counts)
        or sum(counts) != hit.count
        or not (note is None or isinstance(note, str))
        or not replay(note)
    ):
        return None
    refs = tuple(row.ref for row, count in zip(record.rows, counts, strict=True) for _ in range(count))
    return KnownSpan(first.ref, hit, refs)


def _mapped(
    importer: RowImporter, rows: list[PendingRow], documents: DocumentMemory, notes: _Notes
) -> Iterator[Item]:
    """The items of a raw record's rows, mapped, and its ``SpanEnd``: the first row's note, and for a
    group the records each row made, where the first row's check is the group's one effect."""
    first_end: SpanEnd | None = None
    first_check: tuple[str | None, tuple[str, Fields] | None] = (None, None)
    counts: list[int] = []
    alike = True
    for row in rows:
        documents.last_check = None
        count = 0
        for item in importer.row_items(row.row(), documents):
            count += 1
            yield item
        counts.append(count)
        if first_end is None:
            first_end = notes.span_end(documents)
            first_check = (documents.last_check, documents.last_document)
        elif first_check[0] is None:
            alike = alike and documents.last_check is None
        else:
            alike = alike and documents.last_check == "seen" and documents.last_document == first_check[1]
    assert first_end is not None, "a raw record has a row"
    if len(rows) == 1:
        yield first_end
    elif alike and first_end.keep:
        yield SpanEnd(json.dumps([counts, first_end.note]))
    else:
        yield SpanEnd(None, keep=False)


class _Notes:
    """The note of each row just mapped: what its check of its document found, to replay. A vitnemål's
    rows after its first all note "seen" with the same fields: that note is made once (a digest and two
    JSON texts a row were a tenth of a first import's Python, cProfile of 200 000 rows)."""

    def __init__(self) -> None:
        self.last_seen: tuple[str, Fields, SpanEnd] | None = None

    def span_end(self, documents: DocumentMemory) -> SpanEnd:
        if documents.last_check is None or documents.last_document is None:
            return SpanEnd(None)  # it names no document: whether a row does is a function of the row
        key, fields = documents.last_document
        last = self.last_seen
        if documents.last_check == "seen" and last is not None and last[0] == key and last[1] == fields:
            return last[2]
        if not all(type(column) is str and (value is None or type(value) is str) for column, value in fields):
            return SpanEnd(None, keep=False)  # not kept as JSON text exactly: mapped every time
        if documents.last_check == "new":
            return SpanEnd(json.dumps(["new", key, fields]))
        end = SpanEnd(json.dumps(["seen", key, _digest(fields)]))
        self.last_seen = (key, fields, end)
        return end


def _digest(fields: Fields) -> str:
    # 32 hex digits (128 bits) are enough to notice other fields, and the note is on every row of a
    # vitnemål but its first: 32 bytes fewer on each of millions of rows of known_input
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()[:32]


class _Replay:
    """Whether a known row's check of its document finds here what it found when it was remembered;
    if so the check is made (the memory as mapping the row would leave it)."""

    def __init__(self, documents: DocumentMemory) -> None:
        self.documents = documents
        # the digest of each document's fields, with the fields it was made of: a vitnemål's dozen
        # rows after the first compare against one digest
        self.digests: dict[str, tuple[Fields, str]] = {}
        self.last_note: str | None = None  # the last "seen" note replayed, and its (key, fields)
        self.last_seen: tuple[str, Fields | None] = ("", None)

    def __call__(self, note: str | None) -> bool:
        if note is None:
            return True
        if note is self.last_note or note == self.last_note:
            # the next row of the vitnemål just replayed "seen" (a dozen rows repeat one note): still
            # seen with the same fields while the memory holds the same fields under its key
            key, earlier = self.last_seen
            if self.documents.seen.get(key) is earlier:
                return True
        try:
            check, key, what = json.loads(note)
        except (ValueError, TypeError):
            return False
        earlier = self.documents.seen.get(key)
        if check == "new" and earlier is None and isinstance(what, list):
            self.documents.check(key, tuple((column, value) for column, value in what))
            return True
        if check == "seen" and earlier is not None:
            cached = self.digests.get(key)
            if cached is None or cached[0] is not earlier:
                if len(self.digests) >= self.documents.limit:
                    self.digests.clear()  # bounded as the memory is
                cached = (earlier, _digest(earlier))
                self.digests[key] = cached
            if cached[1] == what:  # checking again would find the same fields: nothing changes
                self.last_note, self.last_seen = note, (key, earlier)
                return True
        return False
