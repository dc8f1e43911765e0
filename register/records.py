"""The normalized record: what every importer yields and the ingest service accepts.

One ``AchievementRecord`` is one result of one person, in one model for all sectors. Importers turn
their format into these (or into ``RecordError``s for what they cannot read); the ingest service checks
identities, organisations and codes against the database and writes them.

A tree (degree → courses, vitnemål → subjects) is expressed with ``parent_key``: the ``source_key`` of
the parent record from the same provider, delivered in the same batch or earlier.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import operator
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from register.grading import AchievementKind, CreditScheme, GradeScheme, SpecificationKind
from register.sectors import Sector

_T = TypeVar("_T")


def _pickled_by_position(cls: type[_T]) -> type[_T]:
    """Pickle a record type as its class and its fields' values in order: a worker process sends the
    records it read (importers/higher/elmo/parallel.py), and a slotted dataclass's own pickling (a state
    list, set back field by field) costs ~40 % more each way."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values = operator.attrgetter(*names)

    def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
        found = values(self)
        return cls, found if len(names) > 1 else (found,)

    cls.__reduce__ = __reduce__  # type: ignore[method-assign]
    return cls


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class IdentifierIn:
    """A person identifier as delivered.

    kind: ``nin`` (a Norwegian fødselsnummer/D-/H-/synthetic number; the ingest validates it and
    decides which), ``esi`` (European Student Identifier) or ``foreign`` (with ``scheme`` = the issuing
    country, ISO 3166-1 alpha-2, or another namespace the importer names).
    """

    kind: str
    value: str
    scheme: str = ""


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class PersonIn:
    identifiers: tuple[IdentifierIn, ...]  # the first is the primary one; a national id comes first
    given_name: str | None = None
    family_name: str | None = None
    birth_date: dt.date | None = None  # only where the format delivers it


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class OrgRef:
    """An organisation as a format names it: ``orgnr`` or a cross-walk scheme (nsr, fs, erasmus, …).

    ``alternatives`` are further codes the format gives for the same organisation (an ELMO issuer
    carries its FS number, Erasmus code, SCHAC domain and PIC): the ingest tries them in order when the
    first is not in the cross-walk, so an institution registered under any one of them is recognised.
    """

    scheme: str
    value: str
    alternatives: tuple[OrgRef, ...] = ()

    def __str__(self) -> str:
        return f"{self.scheme}={self.value}"


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class SpecificationIn:
    kind: SpecificationKind
    title: dict[str, str]  # language code → text; at least one
    code: str | None = None
    code_scheme: str | None = None
    owner: OrgRef | None = None
    description: dict[str, str] | None = None
    credits: Decimal | None = None
    credit_scheme: CreditScheme | None = None
    nkr_level: str | None = None
    eqf_level: int | None = None
    nus_code: str | None = None
    iscedf_code: str | None = None
    learning_outcomes: tuple[str, ...] = ()
    details: dict[str, Any] | None = None


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class GradeIn:
    """A grade exactly as delivered; ``scheme`` EXTERNAL for scales the register does not know.

    For known schemes the ingest normalizes ``value`` and takes ``passed`` from the scale unless the
    importer set it from what the format says (ELMO status), which wins. For EXTERNAL the importer sets
    ``passed`` from what the format says, or None. A failed result is stored without credits.
    """

    scheme: GradeScheme
    value: str
    passed: bool | None = None
    scheme_description: str | None = None


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class AttachmentIn:
    media_type: str
    content: bytes
    title: str | None = None


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class AchievementRecord:
    """One result of one person, normalized. ``ref`` says where it came from, for error reports."""

    ref: str  # "row 17", "report[1]/learningOpportunitySpecification[3]", "credential 2"
    source_key: str  # the provider's stable key: a re-send of the same result has the same key
    sector: Sector
    kind: AchievementKind
    person: PersonIn
    awarding_org: OrgRef
    specification: SpecificationIn
    grade: GradeIn | None = None
    credits: Decimal | None = None
    credit_scheme: CreditScheme | None = None
    completed_on: dt.date | None = None
    year: int | None = None  # school year's end year / academic year / issue year, for statistics
    term: str | None = None
    parent_key: str | None = None
    status: str = "valid"  # or "withdrawn"
    withdrawal_reason: str | None = None
    attachments: tuple[AttachmentIn, ...] = ()
    details: dict[str, Any] | None = None  # format facts worth keeping (ELMO status, ELM validity, …)

    def content_hash(self) -> str:
        """A hash of everything that makes this result what it is (not where it was read from).

        An identical re-send has the same hash and changes nothing.
        """
        return _hash(_content_fields(self))


_CONTENT_FIELDS = tuple(f.name for f in dataclasses.fields(AchievementRecord) if f.name != "ref")
#: the tuple of the content fields' values, made in C (a generator of getattr cost ~3 µs a record)
_content_fields = operator.attrgetter(*_CONTENT_FIELDS)


@_pickled_by_position
@dataclass(frozen=True, slots=True)
class RecordError:
    """A record that cannot be accepted: which record, where in it, which rule, and why.

    ``code`` is stable (documented in docs/errors.md); ``message`` is for people and never contains a
    national id.
    """

    record: str
    code: str
    message: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class BatchWarning:
    """Something accepted liberally (element order, whitespace in a date); reported on the batch."""

    code: str
    message: str
    record: str | None = None
    path: str | None = None


@dataclass(slots=True)
class BatchFacts:
    """Format-level facts an importer learns about a whole file (version, signature outcome)."""

    format: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def spec_content_key(spec: SpecificationIn, owner_id: int | None) -> str:
    """The identity of a specification: every field, with the owner as the register's id."""
    return _hash((spec, owner_id))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize())  # 7.50 and 7.5 are the same credits
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    raise TypeError(f"cannot hash {type(value).__name__}")


class InvalidText(ValueError):
    """A record holds text the database cannot store (NUL, or a lone surrogate)."""


# A JSON-escaped NUL preceded by an even number of backslashes: the string held a NUL, not "\\u0000".
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _hash(content: Any) -> str:
    # orjson serializes dataclasses, enums and dates natively and sorts keys, at a few microseconds a
    # record; hashing runs for every record of every delivery (it is how a re-send is recognised).
    # It also refuses lone surrogates, and shows a NUL as an escape: the text check comes for free.
    try:
        canonical = orjson.dumps(
            content, default=_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        )
    except orjson.JSONEncodeError as exc:
        if "surrogates" in str(exc) or "UTF-8" in str(exc):
            raise InvalidText("a text holds a lone surrogate, which is not Unicode text") from None
        raise
    if b"u0000" in canonical and _ESCAPED_NUL.search(canonical):
        raise InvalidText("a text holds a NUL character")
    return hashlib.sha256(canonical).hexdigest()
