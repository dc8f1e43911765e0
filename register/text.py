"""Text the database can hold.

PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate (which JSON's \\ud800 escape
and Python strings can carry). A record with such a character is rejected by the ingest with the field
named (``find_invalid_text``); text the register writes about a delivery — error messages quoting a
value, warnings, file names — is cleaned instead (``clean_text``), so a report can always be stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

_INVALID = re.compile(r"[\x00\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def is_storable(value: str) -> bool:
    return _INVALID.search(value) is None


def clean_text(value: str, *, single_line: bool = False) -> str:
    """NUL and lone surrogates replaced by U+FFFD; with ``single_line`` every control character too."""
    pattern = _CONTROL if single_line else _INVALID
    cleaned = pattern.sub("\ufffd", value)
    if single_line:
        cleaned = cleaned.replace("\r", "\ufffd").replace("\n", "\ufffd").replace("\t", " ")
    return cleaned


def clean_json(value: Any) -> Any:
    """``clean_text`` through a JSON-able structure (warnings, batch details)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def find_invalid_text(value: Any, path: str = "") -> str | None:
    """The path of the first string in a record that the database cannot hold, or None."""
    if isinstance(value, str):
        return path or "value" if not is_storable(value) else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            found = find_invalid_text(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
            if found:
                return found
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            found = find_invalid_text(k, path) or find_invalid_text(
                v, f"{path}.{k}" if is_storable(str(k)) else path
            )
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = find_invalid_text(v, f"{path}[{i}]")
            if found:
                return found
    return None


# --- how long a delivered text may be -------------------------------------------------------------

#: characters; by the record field a text belongs to (the innermost named field of its path). The
#: longest real values in the format samples and the demo are far below these (a course description
#: of 3 000 characters, a title of 150); the bounds stop a 9 MiB given name, which was stored and made
#: one look-up 18.9 MB. docs/errors.md (``text.too_long``) lists them.
TEXT_LIMITS: dict[str, int] = {
    "given_name": 200,
    "family_name": 200,
    # identifiers, organisation codes, grade values. An ESI URN is under 100 characters, and an entry of
    # person_identifier's unique b-tree index cannot pass about 2 700 bytes (a longer value once failed
    # the whole batch at the index): 255 characters of up to 4 bytes each stay under it.
    "value": 255,
    "scheme": 256,
    "kind": 64,
    "title": 1_000,  # per language
    "code": 256,
    "code_scheme": 256,
    "nkr_level": 16,
    "nus_code": 16,
    "iscedf_code": 16,
    "description": 20_000,  # per language
    "learning_outcomes": 10_000,  # each
    "scheme_description": 4_000,
    "media_type": 255,
    "ref": 1_000,
    "source_key": 256,
    "parent_key": 256,
    "term": 64,
    "status": 32,
    "withdrawal_reason": 2_000,
    "details": 4_000,  # each text inside, keys included
}
#: any other text field
DEFAULT_TEXT_LIMIT = 4_000
#: all the text of one record together (many fields each under its bound are still one record)
MAX_RECORD_TEXT = 256 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class OverlongText:
    path: str
    length: int
    limit: int

    @property
    def message(self) -> str:
        return f"{self.path}: {self.length} characters, more than the limit of {self.limit}"


def find_overlong_text(record: Any) -> OverlongText | None:
    """The first text of a record longer than its field's limit (``TEXT_LIMITS``), or the whole record
    when its texts together pass ``MAX_RECORD_TEXT``; None when every text fits."""
    # Nearly every record fits: a walk that only answers yes or no (no paths built, the fields of each
    # record type listed once) decides that, and only a record that does not fit is walked again for
    # the path. The full walk cost 60–120 µs a record (a third of the ingest's Python, measured with
    # benchmarks.per_record); the quick one costs a third of that.
    if 0 <= _text_length(record, DEFAULT_TEXT_LIMIT) <= MAX_RECORD_TEXT:
        return None
    total = [0]
    found = _overlong(record, "", DEFAULT_TEXT_LIMIT, total)
    if found is None and total[0] > MAX_RECORD_TEXT:
        return OverlongText("record", total[0], MAX_RECORD_TEXT)
    return found


def _overlong(value: Any, path: str, limit: int, total: list[int]) -> OverlongText | None:
    if isinstance(value, str):
        total[0] += len(value)
        return OverlongText(path or "value", len(value), limit) if len(value) > limit else None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            here = f"{path}.{f.name}" if path else f.name
            inner = TEXT_LIMITS.get(f.name, limit if f.name not in _CONTAINERS else DEFAULT_TEXT_LIMIT)
            found = _overlong(getattr(value, f.name), here, inner, total)
            if found:
                return found
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            found = _overlong(key, path, limit, total)
            # A key is named in the path only when it is short: the path is stored and shown.
            found = found or _overlong(v, f"{path}.{key}" if len(key) <= 64 else f"{path}.…", limit, total)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _overlong(v, f"{path}[{i}]", limit, total)
            if found:
                return found
    return None


#: per dataclass type, each field and its own limit (None: the enclosing value's); None for other types
_FIELD_LIMITS: dict[type, tuple[tuple[str, int | None], ...] | None] = {}


def _field_limits(cls: type) -> tuple[tuple[str, int | None], ...] | None:
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(
        (f.name, TEXT_LIMITS.get(f.name, DEFAULT_TEXT_LIMIT if f.name in _CONTAINERS else None))
        for f in dataclasses.fields(cls)
    )


_OVERLONG = -1

#: values that hold no text: skipped without a call (most of a record's fields that are not text)
_NO_TEXT: frozenset[type] = frozenset({int, float, bool, Decimal, dt.date, dt.datetime, bytes})


def _text_length(value: Any, limit: int) -> int:
    """The length of all text in ``value`` as ``_overlong`` counts it, or ``_OVERLONG`` where it would
    find a text over its limit: the same walk without paths. A call per container: leaves (None, text,
    numbers, dates) and empty containers are dealt with where they are met, and the texts of a dict
    or a tuple too — a record's walk was 22 calls, most of them for a leaf (cProfile, primary CSV)."""
    if isinstance(value, str):
        return _OVERLONG if len(value) > limit else len(value)
    cls = type(value)
    try:
        fields = _FIELD_LIMITS[cls]
    except KeyError:
        fields = _FIELD_LIMITS[cls] = _field_limits(cls)
    total = 0
    if fields is not None:
        for name, own in fields:
            inner = getattr(value, name)
            if inner is None or type(inner) in _NO_TEXT:
                continue
            here = limit if own is None else own
            if isinstance(inner, str):  # most fields (an enum's value too)
                if len(inner) > here:
                    return _OVERLONG
                total += len(inner)
                continue
            if not inner and type(inner) in (tuple, list, dict):
                continue
            n = _text_length(inner, here)
            if n == _OVERLONG:
                return _OVERLONG
            total += n
        return total
    if isinstance(value, dict):
        for k in value:  # keys count as text too, as _overlong counts them
            n = len(k) if type(k) is str else len(str(k))
            if n > limit:
                return _OVERLONG
            total += n
        n = _values_length(value.values(), limit)
        return _OVERLONG if n == _OVERLONG else total + n
    if isinstance(value, list | tuple):
        return _values_length(value, limit)
    return 0


def _values_length(values: Iterable[Any], limit: int) -> int:
    """``_text_length`` of the values of a dict or a list together: a text (a title by language, say)
    without a call."""
    total = 0
    for v in values:
        if isinstance(v, str):
            if len(v) > limit:
                return _OVERLONG
            total += len(v)
            continue
        n = _text_length(v, limit)
        if n == _OVERLONG:
            return _OVERLONG
        total += n
    return total


# Fields that hold records, not text: what is inside them takes its own fields' limits.
_CONTAINERS = frozenset({"person", "identifiers", "awarding_org", "owner", "alternatives", "specification",
                         "grade", "attachments"})  # fmt: skip
