"""CSV rows: ``;``-separated, a header naming the columns, read line by line with bounded memory."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, overload

from importers.base import UnusableInput
from importers.tabular.core import (
    MAX_RECORD_BYTES,
    OTHER_SEPARATORS,
    SEPARATOR,
    Column,
    Lines,
    Row,
    TableItem,
    normalize_name,
)
from register.records import BatchWarning, RecordError

# --- CSV --------------------------------------------------------------------------------------------


class _CsvLineFeed:
    """Feeds lines to ``csv.reader`` and refuses a record that spans too many bytes.

    A quote that is never closed makes the csv module join every following line into one field; this
    bounds how far that can go before the import stops.
    """

    def __init__(self, lines: Lines) -> None:
        self.lines = lines
        self.pending = 0
        self.taken: list[str] | None = None  # the record's lines, where its digest is wanted

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.pending += len(line)
        if self.taken is not None:
            self.taken.append(line)
        if self.pending > MAX_RECORD_BYTES:
            raise UnusableInput(
                "csv.record_too_large",
                f"a row ending at line {self.lines.number} is larger than {MAX_RECORD_BYTES} bytes"
                " (an unclosed quote?)",
            )
        return line


#: given the header's column names, the digest of a row's raw text read under them
RowDigest = Callable[[bytes], Callable[[bytes], bytes]]


@dataclass(frozen=True, slots=True)
class _Header:
    names: list[str]
    known: frozenset[str]


@dataclass(frozen=True, slots=True)
class PendingRow:
    """A row read with its digest and not yet made a ``Row``: a row known from an earlier delivery is
    never mapped, so its values are not worth building (16 µs of a row's ~45 µs re-send, measured
    with cProfile on a re-send of 27 217 rows)."""

    number: int
    fields: list[str]
    digest: bytes
    size: int
    header: _Header

    @property
    def ref(self) -> str:
        return f"row {self.number}"

    def row(self) -> Row:
        known = self.header.known
        pairs = zip(self.header.names, self.fields, strict=True)
        values = {name: value.strip() for name, value in pairs if name in known and value.strip()}
        return Row(self.number, values, self.digest, self.size)


@overload
def read_csv(source: BinaryIO, columns: Sequence[Column[Any]]) -> Iterator[TableItem]: ...
@overload
def read_csv(
    source: BinaryIO, columns: Sequence[Column[Any]], row_digest: RowDigest
) -> Iterator[TableItem | PendingRow]: ...
def read_csv(
    source: BinaryIO, columns: Sequence[Column[Any]], row_digest: RowDigest | None = None
) -> Iterator[TableItem | PendingRow]:
    """Stream the rows of a ``;``-separated UTF-8 CSV file with a header; each row with the digest of
    its raw text (its lines as delivered) under the header's column names where ``row_digest`` is
    given: what a row makes is a function of those (the separator and quoting are fixed)."""
    lines = Lines(source)
    feed = _CsvLineFeed(lines)
    reader = csv.reader(feed, delimiter=SEPARATOR, quotechar='"', doublequote=True, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UnusableInput("csv.malformed", f"the header line cannot be read as CSV: {exc}") from None
    if header is None or not any(h.strip() for h in header):
        raise UnusableInput("csv.no_header", "the file is empty: a header row naming the columns is required")
    names = [normalize_name(h) for h in header]
    _check_header(names, columns)
    yield from _unknown_columns(names, columns)
    known = {c.name for c in columns}
    digest = None if row_digest is None else row_digest("\x1f".join(names).encode())
    shape = _Header(names, frozenset(c.name for c in columns))
    number = 0
    while True:
        feed.pending = 0
        if digest is not None:
            feed.taken = []
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The reader starts afresh on the next line, so only this row is lost.
            number += 1
            yield RecordError(
                record=f"row {number}",
                code="csv.malformed_row",
                message=f"line {lines.number} cannot be read as CSV: {exc} (a value with '\"' in it is quoted,"
                " and its own quotes doubled)",
            )
            continue
        if not "".join(fields).strip():  # every field blank (one join, not a strip per field)
            continue  # blank lines (often at the end of a spreadsheet export) are not rows
        number += 1
        if len(fields) != len(names):
            yield RecordError(
                record=f"row {number}",
                code="csv.ragged_row",
                message=f"the row has {len(fields)} fields but the header has {len(names)} columns"
                f" (line {lines.number}; a {SEPARATOR!r} inside a value must be quoted)",
            )
            continue
        if digest is None or feed.taken is None:
            pairs = zip(names, fields, strict=True)
            yield Row(
                number, {name: value.strip() for name, value in pairs if name in known and value.strip()}
            )
            continue
        raw = "".join(feed.taken).encode()
        yield PendingRow(number, fields, digest(raw), len(raw), shape)


def _check_header(names: list[str], columns: Sequence[Column[Any]]) -> None:
    if len(names) == 1:
        for other in OTHER_SEPARATORS:
            if other in names[0]:
                shown = "tab" if other == "\t" else repr(other)
                raise UnusableInput(
                    "csv.separator",
                    f"the header is separated by {shown}; this format uses {SEPARATOR!r} as separator",
                )
    seen: set[str] = set()
    for name in names:
        if not name:
            raise UnusableInput("csv.header_empty_name", "the header has a column without a name")
        if name in seen:
            raise UnusableInput("csv.header_duplicate", f"the header names column {name!r} twice")
        seen.add(name)
    missing = [c.name for c in columns if c.required and c.name not in seen]
    if missing:
        raise UnusableInput(
            "csv.header_missing_columns", f"the header lacks required columns: {', '.join(missing)}"
        )


def _unknown_columns(names: Iterable[str], columns: Sequence[Column[Any]]) -> Iterator[BatchWarning]:
    known = {c.name for c in columns}
    for name in names:
        if name not in known:
            yield BatchWarning(
                code="column.unknown", message=f"column {name!r} is not part of this format and was ignored",
                path=name,
            )  # fmt: skip
