"""Values in rows: dates, code words, national ids, organisation numbers, withdrawals, documents seen."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from importers.tabular.core import (
    Column,
    Row,
    text_column,
)
from register.identifiers import is_valid_orgnr

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
        #: what the last ``check`` found ("new" or "seen"), reset by the reader before each row: a row
        #: known from an earlier delivery replays it instead of being mapped (importers.tabular.known_rows)
        self.last_check: str | None = None
        #: the document (key, fields) of the last ``check``: a known row's note keeps it
        self.last_document: tuple[str, tuple[tuple[str, str | None], ...]] | None = None

    def check(self, key: str, fields: tuple[tuple[str, str | None], ...]) -> tuple[bool, str | None]:
        """(is_new, first column that disagrees with the earlier rows or None)."""
        earlier = self.seen.get(key)
        self.last_document = (key, fields)
        if earlier is None:
            if len(self.seen) >= self.limit:
                del self.seen[next(iter(self.seen))]
            self.seen[key] = fields
            self.last_check = "new"
            return True, None
        self.last_check = "seen"
        for (column, before), (_, now) in zip(earlier, fields, strict=True):
            if before != now:
                return False, column
        return False, None


_valid_orgnr = functools.lru_cache(maxsize=4096)(is_valid_orgnr)
_NIN_SHAPE = re.compile(r"^\d{11}$")


def nin_shape(raw: str) -> str:
    """A national id's shape only; check digits and kind are the ingest's (it knows the settings).

    The value never appears in a message.
    """
    value = raw.replace(" ", "")
    if not _NIN_SHAPE.match(value):
        raise ValueError("must be 11 digits")
    return value


def orgnr(raw: str) -> str:
    value = raw.replace(" ", "")
    if not _valid_orgnr(value):
        raise ValueError(f"{value!r} is not a valid organisasjonsnummer (9 digits, mod-11)")
    return value


def nin_column(name: str, *, fills: tuple[str, ...]) -> Column[str]:
    """The learner's fødselsnummer or D-nummer: required, 11 digits."""
    return Column(name, nin_shape, required=True, invalid="nin.format", fills=fills)


def orgnr_column(name: str, *, required: bool = False, fills: tuple[str, ...] = ()) -> Column[str]:
    return Column(name, orgnr, required=required, invalid="orgnr.invalid", fills=fills)


def date_column(name: str, *, required: bool = False, fills: tuple[str, ...] = ()) -> Column[dt.date]:
    return Column(name, parse_date, required=required, invalid="date.invalid", fills=fills)


WITHDRAWAL_COLUMN = "trukket_arsak"
#: a reason here withdraws the row's result (a new version, kept); in every row format
WITHDRAWAL = text_column(WITHDRAWAL_COLUMN, fills=("withdrawal_reason",))


def withdrawal(row: Row) -> tuple[str, str | None]:
    """(status, reason): a reason in ``trukket_arsak`` withdraws the row's result (a new version, kept)."""
    reason = WITHDRAWAL.get(row)
    return ("withdrawn", reason) if reason is not None else ("valid", None)
