"""What both row formats share: columns and rows, the encoding checks, bounded lines, sniffing."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

from importers.base import UnusableInput
from register.records import BatchWarning, RecordError

MAX_RECORD_BYTES = 1024 * 1024  # one row; real rows are a few hundred bytes
MAX_DEPTH = 8  # rows are flat objects inside one array: depth 2 is all a valid file needs
MAX_NUMBER_CHARS = 40
MAX_WARNED_COLUMNS = 50
READ_CHUNK = 64 * 1024
SEPARATOR = ";"

TableKind = Literal["csv", "json"]


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Column(Generic[T]):
    """One column of a tabular format (a key of a JSON row): the one place that says how it is read.

    ``required`` columns must be in a CSV header; a row may still leave conditionally required ones
    empty, and the importer decides. ``parse`` turns the trimmed text into the value (raising
    ``ValueError`` with the reason, which becomes an ``invalid`` rejection naming the column, or
    ``RowRejected`` where a column has several rules of its own). ``fills`` are the paths of the
    normalized record its value becomes: a rejection the ingest finds there (a national id's check
    digits, an organisation it does not know) names this column, as the provider's file does. The
    format docs describe each column in full.
    """

    name: str
    parse: Callable[[str], T]
    required: bool = False
    invalid: str = "field.invalid"
    fills: tuple[str, ...] = ()

    def get(self, row: Row) -> T | None:
        """The row's value, or None where the row leaves the column empty."""
        raw = row.values.get(self.name)
        if raw is None:
            return None
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise RowRejected(self.invalid, f"{self.name}: {exc}", self.name) from None

    def need(self, row: Row, why: str = "") -> T:
        """The row's value, which the row must give (``why``: when it must, e.g. " for a fagprøve")."""
        value = self.get(row)
        if value is None:
            raise RowRejected("field.missing", f"{self.name} is required{why} but empty", self.name)
        return value


def _as_text(raw: str) -> str:
    return raw


def text_column(name: str, *, required: bool = False, fills: tuple[str, ...] = ()) -> Column[str]:
    """A column whose value is its text as delivered (trimmed)."""
    return Column(name, _as_text, required=required, fills=fills)


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: the non-empty values by (normalized) column name, whitespace-trimmed."""

    number: int
    values: dict[str, str]
    #: the digest of the row's raw text with its header (register.ingest.known_input), where the
    #: reader was asked for it, and the raw text's length: a row delivered before is not mapped again
    digest: bytes | None = None
    size: int = 0

    @property
    def ref(self) -> str:
        return f"row {self.number}"

    def get(self, column: str) -> str | None:
        return self.values.get(column)


TableItem = Row | RecordError | BatchWarning


class RowRejected(Exception):
    """One row cannot be accepted: the column at fault and the reason (becomes a RecordError)."""

    def __init__(self, code: str, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.column = code, message, column


def normalize_name(raw: str) -> str:
    """Column names are matched without regard to case or surrounding whitespace."""
    return raw.strip().casefold()


BLANK = " \t\r\n"


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


def strip_bom(data: bytes) -> bytes:
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
    return strip_bom(head).decode("utf-8", errors="replace")


def sniff_kind(text: str) -> TableKind:
    """JSON if the first non-blank character opens an array or object, otherwise CSV."""
    stripped = text.lstrip("\ufeff \t\r\n")
    return "json" if stripped[:1] in ("[", "{") else "csv"


#: separators spreadsheets use instead of ours: a header cut by one of them is still this format's
#: file, claimed so that the reader can say what is wrong (``csv.separator``), not ``format.unknown``
OTHER_SEPARATORS = (",", "\t")


def header_columns(text: str) -> list[str]:
    """The normalized column names of a CSV head's first line (for ``identify``).

    A header with no ``;`` is also cut by the other separators, so a comma- or tab-separated file of
    this format is recognised as such and refused for its separator.
    """
    first = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    names = first.split(SEPARATOR)
    if len(names) == 1:
        for other in OTHER_SEPARATORS:
            if other in first:
                names = first.split(other)
                break
    return [normalize_name(name.strip('"')) for name in names]


def json_head_keys(text: str) -> set[str]:
    """The normalized keys named in a JSON head (for ``identify``), found without parsing it whole."""
    return {normalize_name(m) for m in re.findall(r'"([^"\\]{1,64})"\s*:', text)}


# --- lines ------------------------------------------------------------------------------------------


class LineSource(Protocol):
    def readline(self, limit: int = -1, /) -> bytes: ...


class Lines:
    """A binary source as decoded lines, each bounded in length, NUL-free and valid UTF-8."""

    def __init__(self, source: LineSource) -> None:
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
            raw = strip_bom(raw)
        if b"\x00" in raw:
            raise encoding_problem(raw, line=self.number) or UnusableInput("input.nul_byte", "NUL byte")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise encoding_problem(raw, line=self.number) or UnusableInput(
                "encoding.not_utf8", f"line {self.number} is not valid UTF-8"
            ) from None
