"""JSON rows: an array of flat objects, cut into elements by a structure-only scanner, or JSON Lines."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO, NoReturn

from importers.base import UnusableInput
from importers.tabular.core import (
    BLANK,
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_RECORD_BYTES,
    MAX_WARNED_COLUMNS,
    READ_CHUNK,
    Column,
    Lines,
    Row,
    TableItem,
    TableKind,
    encoding_problem,
    normalize_name,
    strip_bom,
)
from importers.tabular.csv_reader import read_csv
from register.records import BatchWarning, RecordError

# --- JSON -------------------------------------------------------------------------------------------

_STRUCTURE = re.compile(r'["\[\]{},]')
# The rest of a string after its opening quote, up to and including the closing quote.
# Possessive quantifiers: a string still open at the end of the buffer fails in linear time.
_STRING_TAIL = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)


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
                if rest.strip(BLANK):
                    raise UnusableInput("json.trailing_data", "there is data after the end of the JSON array")
                self.start = self.pos = len(self.buf)
                return
            if self.depth == 0:
                stripped = self.buf[self.pos :].lstrip(BLANK)
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
                    if element.strip(BLANK):
                        self.elements += 1
                        yield self._sized(element)
                    elif self.elements:
                        raise UnusableInput("json.syntax", "a comma before the end of the JSON array")
                    self.closed = True
                    self.start = self.pos
            elif self.depth == 1:  # a comma between elements
                element = self.buf[self.start : match.start()]
                if not element.strip(BLANK):
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
    chunk = strip_bom(first)
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
    lines = Lines(_Prefixed(first, source))
    for line in lines:
        if line.strip(BLANK):
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
    """A binary source with bytes already read put back in front (only what ``Lines`` needs)."""

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
    stripped = strip_bom(first).lstrip(BLANK.encode())
    texts = (
        _json_array_texts(source, first) if stripped.startswith(b"[") else _json_lines_texts(source, first)
    )
    yield from _rows_from_texts(texts, columns)


def read_table(source: BinaryIO, kind: TableKind, columns: Sequence[Column]) -> Iterator[TableItem]:
    return read_csv(source, columns) if kind == "csv" else read_json(source, columns)
