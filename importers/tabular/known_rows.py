"""CSV rows delivered before: recognised by their digest, and not mapped again.

The protocol is ``register.ingest.known_input``'s. Rows are buffered a chunk at a time (bounded in
rows and in raw bytes), the chunk's digests are looked up in one statement, and then each row, in
order, is either a ``KnownSpan`` (what it made last time, counted unchanged) or mapped as always
between ``SpanStart`` and ``SpanEnd``.

A row is not quite a function of its bytes: the first row naming a vitnemål makes the vitnemål's
record too, and later rows must agree with it (``DocumentMemory``). So a row remembers what its
``check`` found ("new" or "seen", the note) and a known row is skipped only where replaying that
check here finds the same: a vitnemål not yet seen in this file for "new", seen with the same fields
for "seen". Otherwise the row is mapped, and says what a full read would say. The replay puts the
row's document into the memory as mapping it would have, so the rows after it read alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from importers.tabular.core import Row, RowRejected, TableItem
from importers.tabular.fields import DocumentMemory
from register.ingest.known_input import CHUNK_BYTES, CHUNK_RECORDS, KnownInputs, KnownSpan, SpanEnd, SpanStart

if TYPE_CHECKING:
    from importers.base import Item
    from importers.tabular.importer import RowImporter


def extract(
    importer: RowImporter, items: Iterator[TableItem], documents: DocumentMemory, known: KnownInputs
) -> Iterator[Item]:
    chunk: list[TableItem] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += item.size if isinstance(item, Row) else 0
        if len(chunk) >= CHUNK_RECORDS or size >= CHUNK_BYTES:
            yield from _chunk(importer, chunk, documents, known)
            chunk, size = [], 0
    yield from _chunk(importer, chunk, documents, known)


def _chunk(
    importer: RowImporter, chunk: list[TableItem], documents: DocumentMemory, known: KnownInputs
) -> Iterator[Item]:
    found = known.lookup([item.digest for item in chunk if isinstance(item, Row) and item.digest is not None])
    for item in chunk:
        if not isinstance(item, Row):
            yield item
            continue
        if item.digest is None:  # not asked for by this reader
            yield from importer.row_items(item, documents)
            continue
        hit = found.get(item.digest)
        if hit is not None and _replay(importer, item, documents, hit.note):
            yield KnownSpan(item.ref, hit)
            continue
        yield SpanStart(item.digest)
        documents.last_check = None
        yield from importer.row_items(item, documents)
        yield SpanEnd(documents.last_check)


def _replay(importer: RowImporter, row: Row, documents: DocumentMemory, note: str | None) -> bool:
    """Whether the row's check of its document finds here what it found when it was remembered; if so
    the check is made (the memory as mapping the row would leave it)."""
    if note is None:
        return True  # it names no document: whether a row does is a function of the row
    try:
        named = importer.document_of(row, documents)
    except RowRejected:
        return False
    if named is None:
        return False
    key, fields = named
    earlier = documents.seen.get(key)
    if (note == "new" and earlier is None) or (note == "seen" and earlier == fields):
        documents.check(key, fields)
        return True
    return False
