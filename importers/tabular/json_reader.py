"""JSON rows: an array of flat objects, cut into elements by a structure-only scanner, or JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO

from importers.base import UnusableInput
from importers.jsonscan import ScanError, ScanRules, scan_values
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

#: the JSON scanner's rules in the codes the row formats document (docs/errors.md, docs/formats/primary.md)
_SCAN_RULES = ScanRules(
    codes={
        "too_large": "input.too_large",
        "too_deep": "json.too_deep",
        "malformed": "json.syntax",
        "truncated": "json.truncated",
        "empty": "json.empty",
        "not_array": "json.not_array",
        "trailing": "json.trailing_data",
        "oversized": "json.record_too_large",
    },
    max_item_bytes=MAX_RECORD_BYTES,
    max_depth=MAX_DEPTH,
    item="row",
)


class _RowDecodeError(Exception):
    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        self.code, self.message, self.path = code, message, path


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


def _rows_from_texts(texts: Iterable[str], columns: Sequence[Column[Any]]) -> Iterator[TableItem]:
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
    """The text of each element of the JSON array, cut by the project's one scanner (importers.jsonscan)."""
    try:
        for piece in scan_values(strip_bom(first), _NulChecked(source, len(first)), _SCAN_RULES):
            assert piece.data is not None  # oversized elements stop the file (rules.oversized == "fail")
            try:
                yield piece.data.decode("utf-8")
            except UnicodeDecodeError as exc:
                at = piece.offset + exc.start
                raise encoding_problem(piece.data[exc.start : exc.start + 4], offset=at) or UnusableInput(
                    "encoding.not_utf8", f"the file is not valid UTF-8 at byte offset {at}"
                ) from None
    except ScanError as exc:
        raise UnusableInput(exc.code, exc.message) from None


class _NulChecked:
    """The rest of the source, each chunk checked for NUL bytes (a UTF-16 file, named as such)."""

    def __init__(self, source: BinaryIO, offset: int) -> None:
        self.source = source
        self.offset = offset

    def read(self, size: int = -1, /) -> bytes:
        chunk = self.source.read(size)
        if b"\x00" in chunk:
            raise encoding_problem(chunk, offset=self.offset) or UnusableInput("input.nul_byte", "NUL byte")
        self.offset += len(chunk)
        return chunk


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


def read_json(source: BinaryIO, columns: Sequence[Column[Any]]) -> Iterator[TableItem]:
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


def read_table(source: BinaryIO, kind: TableKind, columns: Sequence[Column[Any]]) -> Iterator[TableItem]:
    return read_csv(source, columns) if kind == "csv" else read_json(source, columns)
