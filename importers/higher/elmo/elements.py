"""ELMO elements read: the values the mapping passes around and the small readers of one element."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from register.records import (
    AchievementRecord,
    AttachmentIn,
    BatchWarning,
    PersonIn,
)
from register.sectors import Sector

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# ELMO language tags → the register's title keys (it speaks of nb/nn/en; FS writes "no").
_LANGUAGE_KEYS = {"no": "nb", "nob": "nb", "nb": "nb", "nno": "nn", "nn": "nn", "eng": "en"}


ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(slots=True)
class Learner:
    """The learner block as delivered; turned into a PersonIn per report (citizenship rules)."""

    citizenship: str | None = None
    national_ids: list[str] = field(default_factory=list)
    esi: list[str] = field(default_factory=list)
    other_ids: dict[str, str] = field(default_factory=dict)
    given_name: str | None = None
    family_name: str | None = None
    birth_date: dt.date | None = None
    version: str = "1.x"  # "2.0" when the learner has dateOfBirth


@dataclass(slots=True)
class PendingRecord:
    """A record whose LOI references attachments not yet read (elmo-level ones come after reports)."""

    record: AchievementRecord
    refs: tuple[str, ...]


class Warnings:
    """Batch warnings, at most ``per_code`` of each code in detail and then counted.

    A 100 MB batch with the same quirk in every learner should say so once with a count, not
    a hundred thousand times.
    """

    def __init__(self, per_code: int = 20) -> None:
        self.per_code = per_code
        self.counts: dict[str, int] = {}
        self.pending: list[BatchWarning] = []

    def add(self, code: str, message: str, record: str | None = None, path: str | None = None) -> None:
        count = self.counts.get(code, 0) + 1
        self.counts[code] = count
        if count <= self.per_code:
            self.pending.append(BatchWarning(code=code, message=message, record=record, path=path))

    def drain(self) -> Iterator[BatchWarning]:
        while self.pending:
            yield self.pending.pop(0)

    def summary(self) -> Iterator[BatchWarning]:
        for code, count in sorted(self.counts.items()):
            if count > self.per_code:
                yield BatchWarning(
                    code=code, message=f"{count - self.per_code} more warnings with code {code} not listed"
                )


@dataclass(slots=True)
class ReportContext:
    sector: Sector
    elmo_index: int
    report_index: int
    ns: str
    warnings: Warnings
    learner: Learner | None
    global_attachments: dict[str, AttachmentIn] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"elmo[{self.elmo_index}]/report[{self.report_index}]"


# --- small readers --------------------------------------------------------------------------------


def children_named(element: etree._Element, ns: str, name: str) -> list[etree._Element]:
    return list(element.iterchildren(qualified(ns, name)))


def child_named(element: etree._Element, ns: str, name: str) -> etree._Element | None:
    return next(element.iterchildren(qualified(ns, name)), None)


@functools.cache
def qualified(ns: str, name: str) -> str:
    # ELMO without a namespace (reader.NO_NS): lxml names such elements without braces.
    return f"{{{ns}}}{name}" if ns else name


def text_of(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    if len(element) == 0:  # the common case: no child elements, no CDATA split to join
        raw = element.text
        if raw is None:
            return None
        value = raw.strip()
        if "  " in value or "\n" in value or "\t" in value or "\r" in value:
            value = " ".join(value.split())
        return value or None
    value = " ".join("".join(element.itertext()).split())
    return value or None


def _multiline(element: etree._Element) -> str:
    return "".join(element.itertext()).strip()


def _lang_key(element: etree._Element) -> str:
    lang = (element.get(XML_LANG) or "").strip().lower()
    return _LANGUAGE_KEYS.get(lang, lang) or "und"


def texts_by_lang(elements: list[etree._Element], *, multiline: bool = False) -> dict[str, str]:
    out: dict[str, str] = {}
    for element in elements:
        value = _multiline(element) if multiline else text_of(element)
        if value:
            out.setdefault(_lang_key(element), value)
    return out


def preferred(texts: dict[str, str], order: tuple[str, ...] = ("en", "nb", "nn")) -> str | None:
    for lang in order:
        if lang in texts:
            return texts[lang]
    return next(iter(texts.values()), None)


class Kids:
    """An element's children by local name, read in one pass (a result reads some twenty of them)."""

    __slots__ = ("by_name",)

    def __init__(self, element: etree._Element | None, ns: str) -> None:
        self.by_name: dict[str, list[etree._Element]] = {}
        if element is None:
            return
        prefix = qualified(ns, "")
        cut = len(prefix)
        for child in element:
            tag = child.tag
            if isinstance(tag, str) and tag.startswith(prefix):
                self.by_name.setdefault(tag[cut:], []).append(child)

    def one(self, name: str) -> etree._Element | None:
        found = self.by_name.get(name)
        return found[0] if found else None

    def all(self, name: str) -> list[etree._Element]:
        return self.by_name.get(name, [])


def raw_text_of(element: etree._Element | None) -> str | None:
    return None if element is None else "".join(element.itertext())


def identifiers_in(element: etree._Element, ns: str) -> list[tuple[str, str]]:
    return identifier_pairs(children_named(element, ns, "identifier"))


def identifier_pairs(elements: list[etree._Element]) -> list[tuple[str, str]]:
    out = []
    for ident in elements:
        value = text_of(ident)
        if value:
            out.append(((ident.get("type") or "").strip(), value))
    return out


# Legacy ELMO names a date's format in a ``dtf`` attribute, in Java SimpleDateFormat letters.
_DTF_TOKENS = (("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("M", "%m"), ("d", "%d"))


def _strptime_format(dtf: str) -> str | None:
    out, pos = [], 0
    while pos < len(dtf):
        for token, directive in _DTF_TOKENS:
            if dtf.startswith(token, pos):
                out.append(directive)
                pos += len(token)
                break
        else:
            if dtf[pos].isalpha():
                return None  # a time or era letter: not a date format this reader knows
            out.append(dtf[pos].replace("%", "%%"))
            pos += 1
    return "".join(out)


def date_of(element: etree._Element | None, warnings: Warnings, where: str, path: str) -> dt.date | None:
    """The date in an element, in the format its legacy ``dtf`` attribute names, else as an xs:date."""
    if element is None:
        return None
    raw = "".join(element.itertext())
    dtf = (element.get("dtf") or "").strip()
    if dtf:
        layout = _strptime_format(dtf)
        try:
            if layout is None:
                raise ValueError(dtf)
            return dt.datetime.strptime(raw.strip(), layout).date()
        except ValueError:
            if ISO_DATE.match(raw.strip()) is None:
                warnings.add(
                    "elmo.date_invalid",
                    f"{path}: {raw.strip()[:40]!r} does not match its format {dtf!r}; ignored",
                    where,
                    path,
                )
                return None
    return parse_date(raw, warnings, where, path)


def parse_date(raw: str | None, warnings: Warnings, where: str, path: str) -> dt.date | None:
    """An xs:date (or a dateTime where a date belongs), read liberally: whitespace, time zones."""
    if raw is None:
        return None
    match = ISO_DATE.search(raw)
    if match is None or match.start() != len(raw) - len(raw.lstrip()):
        warnings.add("elmo.date_invalid", f"{path}: {raw.strip()[:40]!r} is not a date; ignored", where, path)
        return None
    if raw != raw.strip():
        warnings.add("elmo.date_whitespace", f"{path}: whitespace around a date; read liberally", where, path)
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        warnings.add(
            "elmo.date_invalid", f"{path}: {match[0]!r} is not a calendar date; ignored", where, path
        )
        return None


def digest(*parts: Any) -> str:
    canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def person_key(person: PersonIn) -> str:
    first = person.identifiers[0]
    return digest(first.kind, first.scheme, first.value)[:16]
