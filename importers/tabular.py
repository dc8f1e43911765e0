"""Streaming reading of the register's own tabular delivery formats: CSV and JSON.

The ``primary`` and ``vocational`` sectors deliver rows (one result per row) as

- CSV: UTF-8 (a byte order mark is tolerated), ``;`` as separator (what Norwegian spreadsheets
  export), a header row naming the columns;
- JSON: an array of flat row objects, or JSON Lines (one row object per line).

Both are read incrementally with bounded memory: a file is never held whole, a line or a JSON element
larger than ``MAX_RECORD_BYTES`` stops the import instead of growing a buffer, and JSON nesting
deeper than ``MAX_DEPTH`` is refused before it is parsed. What makes a whole file unreadable (wrong
encoding, NUL bytes, the wrong separator, a missing column, broken JSON structure) raises
``UnusableInput``; what is wrong with one row (a ragged row, a duplicate key, a nested value) is a
``RecordError`` for that row, and the next row is read.

Rows are numbered from 1 in both formats, not counting the CSV header: "row 3" is the third data row
(line 4 of a CSV file without line breaks inside fields).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar, Literal, NoReturn, Protocol

from importers.base import ImportContext, Item, UnusableInput
from register.identifiers import is_valid_orgnr
from register.records import AchievementRecord, BatchWarning, RecordError
from register.sectors import Sector

MAX_RECORD_BYTES = 1024 * 1024  # one row; real rows are a few hundred bytes
MAX_DEPTH = 8  # rows are flat objects inside one array: depth 2 is all a valid file needs
MAX_NUMBER_CHARS = 40
MAX_WARNED_COLUMNS = 50
READ_CHUNK = 64 * 1024
SEPARATOR = ";"

TableKind = Literal["csv", "json"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a tabular format (a key of a JSON row): its name and whether every row needs it.

    ``required`` columns must be in a CSV header; a row may still leave conditionally required ones
    empty, and the importer decides. The format docs describe each column in full.
    """

    name: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: the non-empty values by (normalized) column name, whitespace-trimmed."""

    number: int
    values: dict[str, str]

    @property
    def ref(self) -> str:
        return f"row {self.number}"

    def get(self, column: str) -> str | None:
        return self.values.get(column)


TableItem = Row | RecordError | BatchWarning


def normalize_name(raw: str) -> str:
    """Column names are matched without regard to case or surrounding whitespace."""
    return raw.strip().casefold()


# --- encoding ---------------------------------------------------------------------------------------


def encoding_problem(data: bytes, *, offset: int = 0, line: int | None = None) -> UnusableInput | None:
    """Why ``data`` (the start of a file, or a line of it) is not UTF-8, naming what it looks like."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return UnusableInput(
            "encoding.utf32", "the file is UTF-32 (it starts with a UTF-32 byte order mark); save it as UTF-8"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UnusableInput(
            "encoding.utf16", "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8"
        )
    sample = data[:4096]
    if b"\x00" in sample:
        even, odd = sample[0::2], sample[1::2]
        if sample.count(0) * 3 >= len(sample) and (
            even.count(0) > len(even) // 2 or odd.count(0) > len(odd) // 2
        ):
            return UnusableInput(
                "encoding.utf16",
                "the file looks like UTF-16 without a byte order mark (every other byte is NUL); save it as UTF-8",
            )
        where = f" on line {line}" if line is not None else ""
        return UnusableInput(
            "input.nul_byte",
            f"the file contains a NUL byte{where}: it is binary or damaged, not UTF-8 text",
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(data):
            return None  # a multi-byte character cut by the end of a head sample
        bad = data[exc.start]
        where = f"line {line}" if line is not None else f"byte offset {offset + exc.start}"
        # 0x80-0x9F are control codes in ISO-8859-1 but letters and quotes in Windows-1252.
        guess = "Windows-1252" if 0x80 <= bad <= 0x9F else "ISO-8859-1 (Latin-1) or Windows-1252"
        shown = _latin_char(bad)
        return UnusableInput(
            "encoding.not_utf8",
            f"the file is not UTF-8: byte 0x{bad:02X} at {where} is not valid UTF-8; it looks like {guess}"
            f"{shown}. Export or save the file as UTF-8",
        )
    return None


def _latin_char(byte: int) -> str:
    try:
        char = bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return ""
    return f" (where 0x{byte:02X} is {char!r})" if char.isprintable() else ""


def _strip_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def head_text(head: bytes) -> str:
    """The head of a file as text for ``identify``: UTF-8 (or UTF-16 when it clearly is), never raising.

    A file in a wrong encoding must still be recognised, so that reading it gives the clear encoding
    error rather than "unknown format".
    """
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    sample = head[:4096]
    if sample.count(0) * 3 >= len(sample) > 0:
        odd_nul = sample[1::2].count(0) > len(sample) // 4
        return head.decode("utf-16-le" if odd_nul else "utf-16-be", errors="replace")
    return _strip_bom(head).decode("utf-8", errors="replace")


def sniff_kind(text: str) -> TableKind:
    """JSON if the first non-blank character opens an array or object, otherwise CSV."""
    stripped = text.lstrip("\ufeff \t\r\n")
    return "json" if stripped[:1] in ("[", "{") else "csv"


def header_columns(text: str) -> list[str]:
    """The normalized column names of a CSV head's first line (for ``identify``)."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return [normalize_name(name.strip('"')) for name in first.split(SEPARATOR)]


def json_head_keys(text: str) -> set[str]:
    """The normalized keys named in a JSON head (for ``identify``), found without parsing it whole."""
    return {normalize_name(m) for m in re.findall(r'"([^"\\]{1,64})"\s*:', text)}


# --- lines ------------------------------------------------------------------------------------------


class _LineSource(Protocol):
    def readline(self, limit: int = -1, /) -> bytes: ...


class _Lines:
    """A binary source as decoded lines, each bounded in length, NUL-free and valid UTF-8."""

    def __init__(self, source: _LineSource) -> None:
        self.source = source
        self.number = 0  # physical lines read so far

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self.source.readline(MAX_RECORD_BYTES + 1)
        if not raw:
            raise StopIteration
        self.number += 1
        if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
            raise UnusableInput(
                "input.line_too_long",
                f"line {self.number} is longer than {MAX_RECORD_BYTES} bytes; a row of this format is a few"
                " hundred bytes, so the file is not a row file (or rows are not separated by line breaks)",
            )
        if self.number == 1:
            problem = encoding_problem(raw, line=1)
            if problem is not None:
                raise problem
            raw = _strip_bom(raw)
        if b"\x00" in raw:
            raise encoding_problem(raw, line=self.number) or UnusableInput("input.nul_byte", "NUL byte")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise encoding_problem(raw, line=self.number) or UnusableInput(
                "encoding.not_utf8", f"line {self.number} is not valid UTF-8"
            ) from None


# --- CSV --------------------------------------------------------------------------------------------


class _CsvLineFeed:
    """Feeds lines to ``csv.reader`` and refuses a record that spans too many bytes.

    A quote that is never closed makes the csv module join every following line into one field; this
    bounds how far that can go before the import stops.
    """

    def __init__(self, lines: _Lines) -> None:
        self.lines = lines
        self.pending = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.pending += len(line)
        if self.pending > MAX_RECORD_BYTES:
            raise UnusableInput(
                "csv.record_too_large",
                f"a row ending at line {self.lines.number} is larger than {MAX_RECORD_BYTES} bytes"
                " (an unclosed quote?)",
            )
        return line


def read_csv(source: BinaryIO, columns: Sequence[Column]) -> Iterator[TableItem]:
    """Stream the rows of a ``;``-separated UTF-8 CSV file with a header."""
    lines = _Lines(source)
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
    number = 0
    while True:
        feed.pending = 0
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
        if not any(f.strip() for f in fields):
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
        pairs = zip(names, fields, strict=True)
        yield Row(number, {name: value.strip() for name, value in pairs if name in known and value.strip()})


def _check_header(names: list[str], columns: Sequence[Column]) -> None:
    if len(names) == 1:
        for other in (",", "\t"):
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


def _unknown_columns(names: Iterable[str], columns: Sequence[Column]) -> Iterator[BatchWarning]:
    known = {c.name for c in columns}
    for name in names:
        if name not in known:
            yield BatchWarning(
                code="column.unknown", message=f"column {name!r} is not part of this format and was ignored",
                path=name,
            )  # fmt: skip


# --- JSON -------------------------------------------------------------------------------------------

_STRUCTURE = re.compile(r'["\[\]{},]')
# The rest of a string after its opening quote, up to and including the closing quote.
# Possessive quantifiers: a string still open at the end of the buffer fails in linear time.
_STRING_TAIL = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_BLANK = " \t\r\n"


class _RowDecodeError(Exception):
    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        self.code, self.message, self.path = code, message, path


class _ArraySplitter:
    """Cuts a streamed JSON array into the text of its elements without parsing them.

    Only structure is tracked (strings, brackets, commas at the array's level), so the cost is one
    regular-expression pass; each element is then parsed on its own with ``json.loads``.
    """

    def __init__(self) -> None:
        self.buf = ""
        self.pos = 0  # scanning position in buf
        self.start = 0  # where the current element starts in buf
        self.depth = 0  # 0 before the array, 1 inside it, more inside an element
        self.consumed = 0  # characters discarded from the front of buf, for messages
        self.closed = False
        self.elements = 0

    def feed(self, text: str) -> Iterator[str]:
        self.buf = self.buf[self.start :] + text
        self.consumed += self.start
        self.pos -= self.start
        self.start = 0
        while True:
            if self.closed:
                rest = self.buf[self.pos :]
                if rest.strip(_BLANK):
                    raise UnusableInput("json.trailing_data", "there is data after the end of the JSON array")
                self.start = self.pos = len(self.buf)
                return
            if self.depth == 0:
                stripped = self.buf[self.pos :].lstrip(_BLANK)
                if not stripped:
                    self.start = self.pos = len(self.buf)
                    return
                if stripped[0] != "[":
                    raise UnusableInput(
                        "json.not_array", "a JSON delivery is an array of row objects, or JSON Lines"
                    )
                self.pos = len(self.buf) - len(stripped) + 1
                self.start = self.pos
                self.depth = 1
                continue
            match = _STRUCTURE.search(self.buf, self.pos)
            if match is None:
                self.pos = len(self.buf)
                self._check_size()
                return
            char = match.group()
            if char == '"':
                tail = _STRING_TAIL.match(self.buf, match.end())
                if tail is None:  # the string continues in the next chunk
                    self.pos = match.start()
                    self._check_size()
                    return
                self.pos = tail.end()
                continue
            self.pos = match.end()
            if char in "[{":
                self.depth += 1
                if self.depth > MAX_DEPTH:
                    raise UnusableInput(
                        "json.too_deep",
                        f"the JSON is nested deeper than {MAX_DEPTH} levels near character"
                        f" {self.consumed + self.pos}; rows are flat objects",
                    )
            elif char in "]}":
                self.depth -= 1
                if self.depth == 0:
                    if char != "]":
                        raise UnusableInput("json.syntax", "the JSON array is closed with '}'")
                    element = self.buf[self.start : match.start()]
                    if element.strip(_BLANK):
                        self.elements += 1
                        yield self._sized(element)
                    elif self.elements:
                        raise UnusableInput("json.syntax", "a comma before the end of the JSON array")
                    self.closed = True
                    self.start = self.pos
            elif self.depth == 1:  # a comma between elements
                element = self.buf[self.start : match.start()]
                if not element.strip(_BLANK):
                    raise UnusableInput(
                        "json.syntax",
                        f"an empty element in the JSON array near character {self.consumed + match.start()}",
                    )
                self.elements += 1
                yield self._sized(element)
                self.start = self.pos

    def _sized(self, element: str) -> str:
        if len(element) > MAX_RECORD_BYTES:
            self._too_large()
        return element

    def _too_large(self) -> NoReturn:
        raise UnusableInput(
            "json.record_too_large",
            f"a JSON array element is larger than {MAX_RECORD_BYTES} characters; rows are a few hundred",
        )

    def _check_size(self) -> None:
        # Called when the buffer is used up: what is left from ``start`` is one unfinished element.
        if len(self.buf) - self.start > MAX_RECORD_BYTES:
            self._too_large()

    def finish(self) -> None:
        if self.depth == 0 and not self.closed:
            raise UnusableInput("json.empty", "the file holds no JSON array")
        if not self.closed:
            raise UnusableInput("json.truncated", "the JSON array is not closed: the file ends inside it")


def _decode_row(text: str, number: int) -> Row:
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_int=_number_literal,
            parse_float=_number_literal,
            parse_constant=_no_constant,
        )
    except _RowDecodeError:
        raise
    except json.JSONDecodeError as exc:
        raise _RowDecodeError(
            "json.syntax", f"the row is not valid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except RecursionError:  # cannot happen below MAX_DEPTH; kept so a change there never crashes a batch
        raise _RowDecodeError("json.too_deep", "the row is nested too deeply") from None
    if not isinstance(value, dict):
        kind = "array" if isinstance(value, list) else "string" if type(value) is str else "scalar"
        raise _RowDecodeError("json.not_object", f"the row is a JSON {kind}, not an object")
    values: dict[str, str] = {}
    for key, item in value.items():
        name = normalize_name(key)
        if name in values:
            raise _RowDecodeError("json.duplicate_key", f"the row has key {name!r} twice", name)
        if item is None:
            continue
        if isinstance(item, bool):
            raise _RowDecodeError("json.type", f"{name!r} is a boolean; give a string or number", name)
        if isinstance(item, dict | list):
            raise _RowDecodeError("json.nested_value", f"{name!r} holds a nested value; rows are flat", name)
        text_value = item if isinstance(item, str) else str(item)
        if text_value.strip():
            values[name] = text_value.strip()
    return Row(number, values)


class _NumberLiteral(str):
    """A JSON number kept as its literal text, so 10.5 fagskolepoeng never pass through a float."""


def _number_literal(literal: str) -> str:
    if len(literal) > MAX_NUMBER_CHARS:
        raise _RowDecodeError("json.number_too_long", f"a number has {len(literal)} characters")
    return _NumberLiteral(literal)


def _no_constant(name: str) -> Any:
    raise _RowDecodeError("json.syntax", f"{name} is not a JSON number")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RowDecodeError("json.duplicate_key", f"the row has key {key!r} twice", normalize_name(key))
        result[key] = value
    return result


def _rows_from_texts(texts: Iterable[str], columns: Sequence[Column]) -> Iterator[TableItem]:
    known = {c.name for c in columns}
    warned: set[str] = set()
    number = 0
    for text in texts:
        number += 1
        try:
            row = _decode_row(text, number)
        except _RowDecodeError as exc:
            yield RecordError(record=f"row {number}", code=exc.code, message=exc.message, path=exc.path)
            continue
        unknown = [name for name in row.values if name not in known]
        for name in unknown:
            if name not in warned and len(warned) < MAX_WARNED_COLUMNS:
                warned.add(name)
                yield BatchWarning(
                    code="column.unknown",
                    message=f"key {name!r} is not part of this format and was ignored",
                    record=row.ref,
                    path=name,
                )
            del row.values[name]
        yield row


def _json_array_texts(source: BinaryIO, first: bytes) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    splitter = _ArraySplitter()
    offset = 0
    chunk = _strip_bom(first)
    while chunk:
        if b"\x00" in chunk:
            raise encoding_problem(chunk, offset=offset) or UnusableInput("input.nul_byte", "NUL byte")
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # exc.object is what the decoder held: the end of the previous chunk and this one.
            at = offset - (len(exc.object) - len(chunk)) + exc.start
            raise encoding_problem(exc.object[exc.start : exc.start + 4], offset=at) or UnusableInput(
                "encoding.not_utf8", f"the file is not valid UTF-8 at byte offset {at}"
            ) from None
        yield from splitter.feed(text)
        offset += len(chunk)
        chunk = source.read(READ_CHUNK)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UnusableInput("encoding.not_utf8", "the file ends inside a UTF-8 character") from None
    splitter.finish()


def _json_lines_texts(source: BinaryIO, first: bytes) -> Iterator[str]:
    lines = _Lines(_Prefixed(first, source))
    for line in lines:
        if line.strip(_BLANK):
            if lines.number == 1:
                _check_first_json_line(line)
            yield line


def _check_first_json_line(line: str) -> None:
    """The first line decides whether the file is JSON Lines at all; a pretty-printed object is not."""
    try:
        json.loads(line)
    except (json.JSONDecodeError, RecursionError, ValueError):
        raise UnusableInput(
            "json.not_array",
            "a JSON delivery is an array of row objects, or JSON Lines with one complete row object on"
            " each line; the first line is not a complete JSON object",
        ) from None


class _Prefixed:
    """A binary source with bytes already read put back in front (only what ``_Lines`` needs)."""

    def __init__(self, prefix: bytes, source: BinaryIO) -> None:
        self.prefix = prefix
        self.source = source

    def readline(self, limit: int = -1, /) -> bytes:
        if self.prefix:
            cut = self.prefix.find(b"\n")
            end = len(self.prefix) if cut < 0 else cut + 1
            if 0 <= limit < end:
                end = limit
            line, self.prefix = self.prefix[:end], self.prefix[end:]
            if line.endswith(b"\n") or (0 <= limit <= len(line)):
                return line
            rest_limit = -1 if limit < 0 else limit - len(line)
            return line + self.source.readline(rest_limit)
        return self.source.readline(limit)


def read_json(source: BinaryIO, columns: Sequence[Column]) -> Iterator[TableItem]:
    """Stream the rows of a JSON array of flat objects, or of JSON Lines."""
    first = source.read(READ_CHUNK)
    problem = encoding_problem(first)
    if problem is not None:
        raise problem
    stripped = _strip_bom(first).lstrip(_BLANK.encode())
    texts = (
        _json_array_texts(source, first) if stripped.startswith(b"[") else _json_lines_texts(source, first)
    )
    yield from _rows_from_texts(texts, columns)


def read_table(source: BinaryIO, kind: TableKind, columns: Sequence[Column]) -> Iterator[TableItem]:
    return read_csv(source, columns) if kind == "csv" else read_json(source, columns)


# --- values -----------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NORWEGIAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


@functools.lru_cache(maxsize=4096)  # a file repeats a handful of dates on every row
def parse_date(raw: str) -> dt.date:
    """A date as ``YYYY-MM-DD`` (ISO 8601) or ``DD.MM.YYYY`` (as Norwegian spreadsheets write it)."""
    value = raw.strip()
    iso = _ISO_DATE.match(value)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    else:
        nor = _NORWEGIAN_DATE.match(value)
        if not nor:
            raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD or DD.MM.YYYY)")
        day, month, year = (int(g) for g in nor.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{raw!r} is not a date in the calendar") from None


_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", " ": "_", "-": "_"})


@functools.lru_cache(maxsize=1024)
def code_word(raw: str) -> str:
    """A code-list value folded for matching: ``Muntlig-praktisk eksamen`` → ``muntlig_praktisk_eksamen``."""
    return "_".join(raw.strip().casefold().translate(_FOLD).split("_")).strip("_").replace("__", "_")


class DocumentMemory:
    """What the rows of a document (a vitnemål) said about it, for the documents seen most recently.

    Every row repeats its document's fields; the first row makes the document record and later rows
    must agree with it. Memory is bounded: only the last ``limit`` documents are remembered, which is
    why the format asks for the rows of one document to be delivered together.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self.seen: dict[str, tuple[tuple[str, str | None], ...]] = {}
        #: the last document read from its columns, with those raw values: a document's rows come
        #: together and repeat them, so an importer reads and validates them once per document
        self.last_read: tuple[tuple[str | None, ...], Any] | None = None

    def check(self, key: str, fields: tuple[tuple[str, str | None], ...]) -> tuple[bool, str | None]:
        """(is_new, first column that disagrees with the earlier rows or None)."""
        earlier = self.seen.get(key)
        if earlier is None:
            if len(self.seen) >= self.limit:
                del self.seen[next(iter(self.seen))]
            self.seen[key] = fields
            return True, None
        for (column, before), (_, now) in zip(earlier, fields, strict=True):
            if before != now:
                return False, column
        return False, None


# --- the importer base ------------------------------------------------------------------------------


class RowRejected(Exception):
    """One row cannot be accepted: the column at fault and the reason (becomes a RecordError)."""

    def __init__(self, code: str, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.column = code, message, column


class RowImporter:
    """An importer for one of the register's row formats, CSV or JSON; subclasses map rows to records.

    ``columns`` is the format: its names, which a CSV header must have, and which are refused (a
    column from another sector's format, such as fagskolepoeng on a school row). ``markers`` are the
    column names that make a file this sector's: ``identify`` looks for one of them in the CSV header
    or among the JSON keys of the file's head.
    """

    name: ClassVar[str]
    sectors: ClassVar[frozenset[Sector]]
    kind: ClassVar[TableKind]
    columns: ClassVar[tuple[Column, ...]]
    refused: ClassVar[dict[str, tuple[str, str]]] = {}  # column → (code, reason)
    markers: ClassVar[frozenset[str]]

    def identify(self, head: bytes, filename: str | None, content_type: str | None) -> bool:
        text = head_text(head)
        if sniff_kind(text) != self.kind:
            return False
        if self.kind == "csv":
            return bool(self.markers.intersection(header_columns(text)))
        if text.strip(_BLANK + "\ufeff") == "[]":
            return True  # an empty delivery; only this sector's JSON reader is asked about it
        return bool(self.markers & json_head_keys(text))

    def extract(self, source: BinaryIO, context: ImportContext) -> Iterator[Item]:
        context.facts.format = self.name
        refused = [(name, code, reason) for name, (code, reason) in self.refused.items()]
        columns = (*self.columns, *(Column(name) for name in self.refused))
        # Per file, never on the importer: one instance serves concurrent imports.
        documents = DocumentMemory()
        for item in read_table(source, self.kind, columns):
            if not isinstance(item, Row):
                yield item
                continue
            try:
                for name, code, reason in refused:
                    if item.get(name) is not None:
                        raise RowRejected(code, reason, name)
                yield from self.records(item, documents)
            except RowRejected as exc:
                yield RecordError(record=item.ref, code=exc.code, message=exc.message, path=exc.column)

    def records(self, row: Row, documents: DocumentMemory) -> Iterator[AchievementRecord]:
        """The records one row makes (a result, and its document the first time the file names it).

        Raises RowRejected for the first rule the row breaks; a record already yielded for the row
        (its document) stays, since the document is right even if this subject's grade is not.
        """
        raise NotImplementedError


def required(row: Row, column: str, why: str = "") -> str:
    value = row.get(column)
    if value is None:
        raise RowRejected("field.missing", f"{column} is required{why} but empty", column)
    return value


def date_field(row: Row, column: str) -> dt.date | None:
    raw = row.get(column)
    if raw is None:
        return None
    try:
        return parse_date(raw)
    except ValueError as exc:
        raise RowRejected("date.invalid", f"{column}: {exc}", column) from None


_valid_orgnr = functools.lru_cache(maxsize=4096)(is_valid_orgnr)
_NIN_SHAPE = re.compile(r"^\d{11}$")


def nin_field(row: Row, column: str) -> str:
    """The national id's shape only; check digits and kind are the ingest's (it knows the settings).

    The value never appears in a message.
    """
    value = required(row, column).replace(" ", "")
    if not _NIN_SHAPE.match(value):
        raise RowRejected("nin.format", f"{column} must be 11 digits", column)
    return value


def orgnr_field(row: Row, column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    value = value.replace(" ", "")
    if not _valid_orgnr(value):
        raise RowRejected(
            "orgnr.invalid",
            f"{column} {value!r} is not a valid organisasjonsnummer (9 digits, mod-11)",
            column,
        )
    return value


WITHDRAWAL_COLUMN = "trukket_arsak"


def withdrawal(row: Row) -> tuple[str, str | None]:
    """(status, reason): a reason in ``trukket_arsak`` withdraws the row's result (a new version, kept)."""
    reason = row.get(WITHDRAWAL_COLUMN)
    return ("withdrawn", reason) if reason is not None else ("valid", None)
