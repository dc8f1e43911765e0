"""CSV rows delivered before: recognised by their digest, and not mapped again.

The protocol is ``register.ingest.known_input``'s. Rows are buffered a chunk at a time (bounded in
rows and in raw bytes), the chunk's digests are looked up in one statement, and then each row, in
order, is either a ``KnownSpan`` (what it made last time, counted unchanged) or made a ``Row`` and
mapped as always between ``SpanStart`` and ``SpanEnd``. A known row's values are never built.

A row is not quite a function of its bytes: the first row naming a vitnemål makes the vitnemål's
record too, and later rows must agree with it (``DocumentMemory``). So a row remembers what its
``check`` found, in its note: "new" with the document's key and fields, or "seen" with the key and a
digest of the fields. A known row is skipped only where replaying that check here finds the same: the
vitnemål not yet seen in this file for "new", seen with the same fields for "seen". Otherwise the row
is mapped, and says what a full read would say. The replay puts the document into the memory as
mapping the row would have (from the note: the row is not read), so the rows after it read alike.
A note in another shape (an older one) is not replayed: the row is mapped, and remembered anew.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from importers.tabular.core import Row, TableItem
from importers.tabular.csv_reader import PendingRow
from importers.tabular.fields import DocumentMemory
from register.ingest.known_input import CHUNK_BYTES, CHUNK_RECORDS, KnownInputs, KnownSpan, SpanEnd, SpanStart

if TYPE_CHECKING:
    from importers.base import Item
    from importers.tabular.importer import RowImporter

Fields = tuple[tuple[str, str | None], ...]


def extract(
    importer: RowImporter,
    items: Iterator[TableItem | PendingRow],
    documents: DocumentMemory,
    known: KnownInputs,
) -> Iterator[Item]:
    replay, notes = _Replay(documents), _Notes()
    chunk: list[TableItem | PendingRow] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += item.size if isinstance(item, PendingRow) else 0
        if len(chunk) >= CHUNK_RECORDS or size >= CHUNK_BYTES:
            yield from _chunk(importer, chunk, documents, known, replay, notes)
            chunk, size = [], 0
    yield from _chunk(importer, chunk, documents, known, replay, notes)


def _chunk(
    importer: RowImporter,
    chunk: list[TableItem | PendingRow],
    documents: DocumentMemory,
    known: KnownInputs,
    replay: _Replay,
    notes: _Notes,
) -> Iterator[Item]:
    found = known.lookup([item.digest for item in chunk if isinstance(item, PendingRow)])
    for item in chunk:
        if isinstance(item, Row):  # not asked for by this reader
            yield from importer.row_items(item, documents)
            continue
        if not isinstance(item, PendingRow):
            yield item
            continue
        hit = found.get(item.digest)
        if hit is not None and replay(hit.note):
            yield KnownSpan(item.ref, hit)
            continue
        yield SpanStart(item.digest)
        documents.last_check = None
        yield from importer.row_items(item.row(), documents)
        yield notes.span_end(documents)


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
