"""ELMO elements → normalized records. Pure functions over one learner and one report.

The mapping reads elements by local name within the document's ELMO namespace, so the same code reads
v1.0-v1.7, v2.0 and (where it maps cleanly) the pre-2015 purl.org namespace, whose learner sits inside
the report, whose credits sit on the specification and whose grade is ``result``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from importers.higher.elmo.reader import LEGACY_NS, local_name
from register.grading import (
    NKR_TO_EQF,
    AchievementKind,
    CreditScheme,
    GradeScheme,
    SpecificationKind,
    normalize_grade,
    parse_credits,
    recognise_scale,
)
from register.records import (
    AchievementRecord,
    AttachmentIn,
    BatchWarning,
    GradeIn,
    IdentifierIn,
    OrgRef,
    PersonIn,
    RecordError,
    SpecificationIn,
)
from register.sectors import Sector

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# ELMO language tags → the register's title keys (it speaks of nb/nn/en; FS writes "no").
_LANGUAGE_KEYS = {"no": "nb", "nob": "nb", "nb": "nb", "nno": "nn", "nn": "nn", "eng": "en"}

# Issuer identifier types the register's cross-walk knows, in order of preference.
_ISSUER_SCHEMES = ("orgnr", "fs", "erasmus", "schac", "pic")

_LOS_KINDS: dict[str, tuple[AchievementKind, SpecificationKind]] = {
    "degree programme": (AchievementKind.DEGREE, SpecificationKind.PROGRAMME),
    "degree": (AchievementKind.DEGREE, SpecificationKind.PROGRAMME),
    "module": (AchievementKind.MODULE, SpecificationKind.MODULE),
    "module group": (AchievementKind.MODULE, SpecificationKind.MODULE),
    "course": (AchievementKind.COURSE_RESULT, SpecificationKind.COURSE),
    "class": (AchievementKind.COURSE_RESULT, SpecificationKind.COURSE),
}

# Identifier types that are attributes of a course rather than its code.
_NOT_A_CODE = frozenset({"nus", "courseversion"})
_CODE_PREFERENCE = ("coursecode", "local", "elmo", "ewp-los-id")

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TERM_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")


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


def _children(element: etree._Element, ns: str, name: str) -> list[etree._Element]:
    return list(element.iterchildren(_tag(ns, name)))


def _child(element: etree._Element, ns: str, name: str) -> etree._Element | None:
    return next(element.iterchildren(_tag(ns, name)), None)


@functools.cache
def _tag(ns: str, name: str) -> str:
    # ELMO without a namespace (reader.NO_NS): lxml names such elements without braces.
    return f"{{{ns}}}{name}" if ns else name


def _text(element: etree._Element | None) -> str | None:
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


def _texts_by_lang(elements: list[etree._Element], *, multiline: bool = False) -> dict[str, str]:
    out: dict[str, str] = {}
    for element in elements:
        value = _multiline(element) if multiline else _text(element)
        if value:
            out.setdefault(_lang_key(element), value)
    return out


def _preferred(texts: dict[str, str], order: tuple[str, ...] = ("en", "nb", "nn")) -> str | None:
    for lang in order:
        if lang in texts:
            return texts[lang]
    return next(iter(texts.values()), None)


class _Kids:
    """An element's children by local name, read in one pass (a result reads some twenty of them)."""

    __slots__ = ("by_name",)

    def __init__(self, element: etree._Element | None, ns: str) -> None:
        self.by_name: dict[str, list[etree._Element]] = {}
        if element is None:
            return
        prefix = _tag(ns, "")
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


def _raw(element: etree._Element | None) -> str | None:
    return None if element is None else "".join(element.itertext())


def _identifiers(element: etree._Element, ns: str) -> list[tuple[str, str]]:
    return _identifier_pairs(_children(element, ns, "identifier"))


def _identifier_pairs(elements: list[etree._Element]) -> list[tuple[str, str]]:
    out = []
    for ident in elements:
        value = _text(ident)
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
            if _DATE.match(raw.strip()) is None:
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
    match = _DATE.search(raw)
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


def _hash(*parts: Any) -> str:
    canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- learner ---------------------------------------------------------------------------------------


def read_learner(element: etree._Element, ns: str, warnings: Warnings, where: str) -> Learner:
    learner = Learner()
    learner.citizenship = (_text(_child(element, ns, "citizenship")) or "").upper() or None
    for kind, value in _identifiers(element, ns):
        lowered = kind.lower()
        if lowered == "nationalidentifier":
            learner.national_ids.append(value)
        elif lowered == "esi":
            learner.esi.append(value)
        elif lowered == "nationality" and ns == LEGACY_NS:
            learner.citizenship = learner.citizenship or value.upper()
        else:
            learner.other_ids.setdefault(kind, value)
    learner.given_name = _text(_child(element, ns, "givenNames"))
    learner.family_name = _text(_child(element, ns, "familyName"))
    birth = _child(element, ns, "dateOfBirth")
    if birth is not None:
        learner.version = "2.0"
    else:
        birth = _child(element, ns, "bday")
    if birth is not None:
        learner.birth_date = date_of(birth, warnings, where, "learner/bday")
    if ns == LEGACY_NS:
        learner.version = "legacy"
    return learner


def person_for(learner: Learner, issuer_country: str | None) -> tuple[PersonIn | None, str | None]:
    """The person as the ingest sees it, or (None, why) when nothing identifies the learner.

    A ``nationalIdentifier`` is a Norwegian number when citizenship is NO or absent. One exception,
    where the meaning is clear: citizenship absent, a foreign issuer, and a value that cannot be a
    Norwegian number (not 11 digits) — then it is the issuer country's number (a Swedish issuer's
    personnummer), not a Norwegian number that fails its check.

    Institution-local identifiers (student numbers) never identify a person across the register: two
    institutions' student number 4 are different people. They are kept in the record's details.
    """
    identifiers: list[IdentifierIn] = []
    for value in learner.national_ids:
        compact = value.replace(" ", "")
        country = learner.citizenship
        if (
            country is None
            and issuer_country not in (None, "NO")
            and not (len(compact) == 11 and compact.isdigit())
        ):
            country = issuer_country
        if country in (None, "NO"):
            identifiers.append(IdentifierIn(kind="nin", value=compact))
        else:
            identifiers.append(IdentifierIn(kind="foreign", value=value, scheme=country))
    identifiers.extend(IdentifierIn(kind="esi", value=value) for value in learner.esi)
    if not identifiers:
        kinds = ", ".join(sorted(learner.other_ids)) or "none"
        return None, (
            "the learner has no nationalIdentifier and no esi identifier; institution-local identifiers"
            f" ({kinds}) cannot identify a person in the register"
        )
    return (
        PersonIn(
            identifiers=tuple(identifiers),
            given_name=learner.given_name,
            family_name=learner.family_name,
            birth_date=learner.birth_date,
        ),
        None,
    )


def _learner_key(person: PersonIn) -> str:
    first = person.identifiers[0]
    return _hash(first.kind, first.scheme, first.value)[:16]


# --- attachments -----------------------------------------------------------------------------------


def read_attachment(
    element: etree._Element, ns: str, warnings: Warnings, where: str
) -> tuple[list[str], AttachmentIn | None]:
    """The attachment's identifiers and its first decodable content (a data URI), as raw bytes."""
    ids = [value for _, value in _identifiers(element, ns)]
    titles = _texts_by_lang(_children(element, ns, "title"))
    kind = _text(_child(element, ns, "type"))
    title = _preferred(titles) or kind
    for content in _children(element, ns, "content"):
        raw = "".join(content.itertext()).strip()
        decoded = decode_data_uri(raw)
        if decoded is not None:
            media_type, data = decoded
            return ids, AttachmentIn(media_type=media_type, content=data, title=title)
    warnings.add(
        "elmo.attachment_unreadable",
        f"attachment {title or '(untitled)'!r}: its content is not a decodable data: URI; not stored"
        " (the delivered file keeps it)",
        where,
        "attachment",
    )
    return ids, None


def decode_data_uri(raw: str) -> tuple[str, bytes] | None:
    if not raw.startswith("data:") or "," not in raw:
        return None
    header, _, payload = raw[5:].partition(",")
    parts = header.split(";")
    media_type = parts[0].strip() or "text/plain"
    if "base64" in (p.strip().lower() for p in parts[1:]):
        try:
            return media_type, base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    return media_type, urllib.parse.unquote_to_bytes(payload)


# --- reports ---------------------------------------------------------------------------------------


_REPORT_ORDER = {"issuer": 0, "learner": 0, "learningOpportunitySpecification": 1, "issueDate": 2,
                 "gradingScheme": 3, "attachment": 4, "extension": 5}  # fmt: skip


def _issuer(element: etree._Element, ctx: ReportContext) -> tuple[OrgRef | None, str | None, dict[str, Any]]:
    ns = ctx.ns
    country = (_text(_child(element, ns, "country")) or "").upper() or None
    identifiers = _identifiers(element, ns)
    titles = _texts_by_lang(_children(element, ns, "title"))
    if not titles:
        ctx.warnings.add("elmo.issuer_title_missing", "the issuer has no title; read without one", ctx.where)
    found: dict[str, str] = {}
    for kind, value in identifiers:
        lowered = kind.lower()
        if lowered == "local" and country in (None, "NO") and value.isdigit():
            # In Norwegian ELMO (FS) the issuer's local identifier is its FS institution number.
            found.setdefault("fs", value)
        elif lowered == "erasmus":
            # Erasmus codes are padded with spaces inconsistently ("N  OSLO01", "N OSLO01").
            found.setdefault("erasmus", " ".join(value.split()))
        elif lowered in ("schac", "pic", "orgnr"):
            found.setdefault(lowered, value.lower() if lowered == "schac" else value)
    info = {"country": country, "identifiers": dict(identifiers), "title": titles}
    refs = [OrgRef(scheme, found[scheme]) for scheme in _ISSUER_SCHEMES if scheme in found]
    if not refs:
        return None, country, info
    # Every code the issuer gives: it is recognised by whichever one it is registered under.
    return OrgRef(refs[0].scheme, refs[0].value, alternatives=tuple(refs[1:])), country, info


def map_report(
    element: etree._Element, ctx: ReportContext
) -> Iterator[AchievementRecord | PendingRecord | RecordError]:
    """Every learning opportunity of one report, as records (or errors), parents before children."""
    ns = ctx.ns
    order = [local_name(child) for child in element.iterchildren() if isinstance(child.tag, str)]
    ranks = [_REPORT_ORDER[name] for name in order if name in _REPORT_ORDER]
    if ranks != sorted(ranks):
        ctx.warnings.add(
            "elmo.element_order",
            "report children are not in schema order (issuer, learningOpportunitySpecification, issueDate,"
            " gradingScheme, attachment); read by name",
            ctx.where,
        )
    learner = ctx.learner
    report_learner = _child(element, ns, "learner")
    if report_learner is not None:
        read = read_learner(report_learner, ns, ctx.warnings, ctx.where)
        if read.national_ids or read.esi or learner is None:
            learner = read  # legacy ELMO: the learner sits inside the report
        else:
            # An empty (or unidentified) <learner/> inside a report names nobody; the document's
            # learner still holds. Letting it override rejected 74 real results as "identifiers (none)".
            ctx.warnings.add(
                "elmo.report_learner_empty",
                "the report's learner element has no nationalIdentifier or esi; the document's learner is used",
                ctx.where,
                "learner",
            )
    top_level = _children(element, ns, "learningOpportunitySpecification")
    groups = _issuer_groups(element, ns)
    problem: tuple[str, str] | None = None
    if groups is None:
        groups = [(_child(element, ns, "issuer"), top_level)]
        problem = (
            "elmo.issuer_ambiguous",
            "the report has more than one issuer and learning opportunities before the first of them; which"
            " issuer awarded them is unclear, so none of the report's results is taken (send one report per"
            " issuer)",
        )
    person: PersonIn | None = None
    why_no_person: str | None = None
    resolved: list[tuple[OrgRef, dict[str, Any], list[etree._Element]]] = []
    unresolved: list[tuple[tuple[str, str], list[etree._Element]]] = []
    for issuer_element, group in groups:
        org: OrgRef | None = None
        issuer_info: dict[str, Any] = {}
        country = None
        if issuer_element is not None:
            org, country, issuer_info = _issuer(issuer_element, ctx)
        if org is None:
            present = (
                ", ".join(sorted({k or "(no type)" for k in issuer_info.get("identifiers", {})})) or "none"
            )
            why = (
                "elmo.issuer_unidentified",
                "the report's issuer has no identifier the register can resolve (orgnr, erasmus, schac, pic,"
                f" or a Norwegian issuer's FS institution number as local); it has: {present}",
            )
            unresolved.append((why, group))
        if learner is not None and person is None:
            person, why_no_person = person_for(learner, country)
        if org is not None:
            resolved.append((org, issuer_info, group))
    if unresolved and not resolved:
        problem = problem or unresolved[0][0]
    if learner is None:
        problem = problem or (
            "elmo.learner_missing",
            "the document has no learner element before this report",
        )
    elif person is None:
        problem = problem or ("elmo.learner_unidentified", why_no_person or "")
    if problem is not None:
        for path, _ in _walk(top_level, ns, "learningOpportunitySpecification"):
            yield RecordError(
                record=f"{ctx.where}/{path}",
                code=problem[0],
                message=problem[1],
                path="issuer" if problem[0].startswith("elmo.issuer") else "learner",
            )
        return
    assert person is not None and learner is not None
    positions = {id(los): index for index, los in enumerate(top_level, start=1)}
    for why, group in unresolved:  # one of several issuers unidentified: only its results are rejected
        for los in group:
            for path, _ in _walk([los], ns, "learningOpportunitySpecification", start=positions[id(los)]):
                yield RecordError(record=f"{ctx.where}/{path}", code=why[0], message=why[1], path="issuer")
    if len(resolved) > 1:
        ctx.warnings.add(
            "elmo.issuer_several",
            f"the report has {len(resolved)} issuers; each result is credited to the issuer before it",
            ctx.where,
            "issuer",
        )

    schemes: dict[str, dict[str, str]] = {}
    for scheme in _children(element, ns, "gradingScheme"):
        local_id = (scheme.get("localId") or "").strip()
        if local_id:
            schemes[local_id] = _texts_by_lang(_children(scheme, ns, "description"), multiline=True)
    attachments: dict[str, AttachmentIn] = {}
    for attachment in _children(element, ns, "attachment"):
        ids, content = read_attachment(attachment, ns, ctx.warnings, ctx.where)
        if content is None:
            continue
        if not ids:
            ctx.warnings.add(
                "elmo.attachment_unlinked",
                f"attachment {content.title or '(untitled)'!r} has no identifier, so no learning opportunity"
                " references it; not stored with a result (the delivered file keeps it)",
                ctx.where,
                "attachment",
            )
        for ident in ids:
            attachments[ident] = content
    issue_date = date_of(_child(element, ns, "issueDate"), ctx.warnings, ctx.where, "issueDate")

    seen_keys: dict[str, int] = {}
    double_counted = 0
    for org, issuer_info, group in resolved:
        mapper = _LosMapper(ctx, org, person, learner, schemes, attachments, issue_date, issuer_info)
        for los in group:
            path = f"learningOpportunitySpecification[{positions[id(los)]}]"
            yield from mapper.map(los, path, None, False, seen_keys)
        double_counted += mapper.double_counted
    if double_counted:
        ctx.warnings.add(
            "elmo.credits_double_counted",
            f"{double_counted} learning opportunities carry credits inside one that carries credits"
            " itself; the outermost keeps them, the parts keep theirs in details and on the course"
            " (no double counting)",
            ctx.where,
            "credit",
        )


def _issuer_groups(
    report: etree._Element, ns: str
) -> list[tuple[etree._Element | None, list[etree._Element]]] | None:
    """The report's top-level learning opportunities by the issuer that awarded them.

    One issuer (the schema's rule): it awarded all of them, wherever it stands. Several issuers (legacy
    documents list issuer, results, issuer, results): each result belongs to the issuer before it, and
    None when a result stands before the first issuer, since then nothing says whose it is.
    """
    issuers = _children(report, ns, "issuer")
    if len(issuers) <= 1:
        return [(issuers[0] if issuers else None, _children(report, ns, "learningOpportunitySpecification"))]
    groups: list[tuple[etree._Element | None, list[etree._Element]]] = []
    los_tag, issuer_tag = _tag(ns, "learningOpportunitySpecification"), _tag(ns, "issuer")
    for child in report.iterchildren(los_tag, issuer_tag):
        if child.tag == issuer_tag:
            groups.append((child, []))
        elif not groups:
            return None
        else:
            groups[-1][1].append(child)
    return groups


def _walk(
    elements: list[etree._Element], ns: str, prefix: str, start: int = 1
) -> Iterator[tuple[str, etree._Element]]:
    for index, los in enumerate(elements, start=start):
        path = f"{prefix}[{index}]"
        yield path, los
        parts = [
            p
            for has in _children(los, ns, "hasPart")
            for p in _children(has, ns, "learningOpportunitySpecification")
        ]
        yield from _walk(parts, ns, f"{path}/hasPart")


@dataclass(slots=True)
class _LosMapper:
    ctx: ReportContext
    org: OrgRef
    person: PersonIn
    learner: Learner
    schemes: dict[str, dict[str, str]]
    attachments: dict[str, AttachmentIn]
    issue_date: dt.date | None
    issuer_info: dict[str, Any]
    double_counted: int = 0
    learner_key: str = ""

    def map(
        self,
        los: etree._Element,
        path: str,
        parent_key: str | None,
        ancestor_has_credits: bool,
        seen_keys: dict[str, int],
    ) -> Iterator[AchievementRecord | PendingRecord | RecordError]:
        ns, ctx = self.ctx.ns, self.ctx
        ref = f"{ctx.where}/{path}"
        loi = _child(los, ns, "specifies")
        loi = _child(loi, ns, "learningOpportunityInstance") if loi is not None else None
        parts = [
            p
            for has in _children(los, ns, "hasPart")
            for p in _children(has, ns, "learningOpportunitySpecification")
        ]
        try:
            record, refs, carries_credits = self._record(
                los, loi, ref, parent_key, ancestor_has_credits, parts
            )
        except _Rejected as rejected:
            yield RecordError(record=ref, code=rejected.code, message=rejected.message, path=rejected.path)
            return
        occurrence = seen_keys.get(record.source_key, 0) + 1
        seen_keys[record.source_key] = occurrence
        if occurrence > 1:
            # Two identical learning opportunities in one report: the n-th keeps its own key.
            ctx.warnings.add(
                "elmo.duplicate_result",
                "the same learning opportunity with the same dates appears more than once in the report",
                ref,
            )
            record = _replace_key(record, f"{record.source_key}#{occurrence}")
        missing = [r for r in refs if r not in self.attachments]
        resolved = tuple(self.attachments[r] for r in refs if r in self.attachments)
        if resolved:
            record = _with_attachments(record, resolved)
        if missing:
            yield PendingRecord(record, tuple(missing))
        else:
            yield record
        for index, part in enumerate(parts, start=1):
            yield from self.map(
                part,
                f"{path}/hasPart[{index}]",
                record.source_key,
                ancestor_has_credits or carries_credits,
                seen_keys,
            )

    def _record(
        self,
        los: etree._Element,
        loi: etree._Element | None,
        ref: str,
        parent_key: str | None,
        ancestor_has_credits: bool,
        parts: list[etree._Element],
    ) -> tuple[AchievementRecord, list[str], bool]:
        ns, warnings = self.ctx.ns, self.ctx.warnings
        spec_kids, instance = _Kids(los, ns), _Kids(loi, ns)
        identifiers = _identifier_pairs(spec_kids.all("identifier"))
        qualification = spec_kids.one("qualification")
        if not identifiers and ns == LEGACY_NS and qualification is not None:
            identifiers = _identifiers(qualification, ns)  # legacy ELMO names a degree in its qualification
        by_type = {k.lower(): v for k, v in reversed(identifiers)}
        titles = _texts_by_lang(spec_kids.all("title"))
        code, code_scheme = _code(identifiers)
        if not titles:
            if code is None:
                raise _Rejected(
                    "elmo.los_untitled",
                    "the learning opportunity has neither a title nor an identifier",
                    "title",
                )
            warnings.add("elmo.los_title_missing", f"no title; the code {code!r} stands for it", ref, "title")
            titles = {"und": code}
        los_type = _text(spec_kids.one("type"))
        kind, spec_kind = _LOS_KINDS.get(
            (los_type or "").lower(),
            (AchievementKind.MODULE, SpecificationKind.MODULE)
            if parts
            else (AchievementKind.COURSE_RESULT, SpecificationKind.COURSE),
        )
        where = ref
        # --- the instance: dates, term, grade, credits, levels
        loi_ids = _identifier_pairs(instance.all("identifier"))
        start = completed = None
        term: str | None = None
        term_info: dict[str, Any] | None = None
        status = None
        grade_raw = scheme_id = None
        engagement = language = None
        refs: list[str] = []
        credit_elements: list[etree._Element] = []
        level_elements: list[etree._Element] = []
        if loi is not None:
            start_element = instance.one("start")
            raw_start = _raw(start_element)
            if raw_start is not None and ns == LEGACY_NS and not _DATE.search(raw_start):
                term = " ".join(raw_start.split())  # legacy: start holds the term, "2012 Høst"
            else:
                start = date_of(start_element, warnings, where, "learningOpportunityInstance/start")
            completed = date_of(instance.one("date"), warnings, where, "learningOpportunityInstance/date")
            term_element = instance.one("academicTerm")
            if term_element is not None:
                term_titles = _texts_by_lang(_children(term_element, ns, "title"))
                term_start = date_of(_child(term_element, ns, "start"), warnings, where, "academicTerm/start")
                term_end = date_of(_child(term_element, ns, "end"), warnings, where, "academicTerm/end")
                term = _preferred(term_titles, ("nb", "nn", "en")) or term
                term_info = {
                    "title": term_titles,
                    "start": term_start.isoformat() if term_start else None,
                    "end": term_end.isoformat() if term_end else None,
                }
                completed = completed or term_end
            status = _text(instance.one("status"))
            scheme_id = _text(instance.one("gradingSchemeLocalId"))
            grade_raw = _text(instance.one("resultLabel"))
            legacy_result = instance.one("result")
            if grade_raw is None and legacy_result is not None:
                grade_raw = _text(legacy_result)
                scheme_id = scheme_id or legacy_result.get("scheme")
            engagement = _text(instance.one("engagementHours"))
            language = _text(instance.one("languageOfInstruction"))
            attachments = instance.one("attachments")
            if attachments is not None:
                refs = [r for r in (_text(x) for x in _children(attachments, ns, "ref")) if r]
            credit_elements = instance.all("credit")
            level_elements = instance.all("level")
        if not credit_elements:
            credit_elements = spec_kids.all("credit")  # legacy ELMO puts credits on the specification
        credits, credit_scheme, other_credits = self._credits(credit_elements, ref)
        eqf, nkr = self._levels(level_elements, ref)

        # --- grade: as delivered, on a register scale when the value is on one
        # The delivered status wins; without one a grade on a known scale decides, and otherwise ELMO's
        # rule holds: an absent status means passed.
        status_passed = {"passed": True, "failed": False, "in-progress": None}.get((status or "").lower())
        passed_by_status = status_passed if status else True
        grade = None
        descriptions = self.schemes.get(scheme_id or "", {})
        if scheme_id and scheme_id not in self.schemes and ns != LEGACY_NS:
            warnings.add(
                "elmo.grading_scheme_unknown",
                f"gradingSchemeLocalId {scheme_id!r} has no gradingScheme description in the report",
                ref,
                "gradingSchemeLocalId",
            )
        if grade_raw is not None:
            scale = recognise_scale(grade_raw, self.issuer_info.get("country"), _preferred(descriptions))
            if scale is GradeScheme.EXTERNAL:
                warnings.add(
                    "elmo.grade_scale_unknown",
                    f"grade {grade_raw!r} is on no scale the register knows for issuer country"
                    f" {self.issuer_info.get('country') or '(none)'}; kept as delivered, passed by"
                    f" {'its status' if status else 'ELMO rule (no status means passed)'}",
                    ref,
                    "resultLabel",
                )
            else:
                passed_by_status = status_passed if status else normalize_grade(scale, grade_raw).passed
            grade = GradeIn(
                scheme=scale,
                value=grade_raw,
                passed=passed_by_status,
                scheme_description=_preferred(descriptions),
            )

        # --- the no-double-counting rule: the outermost node carrying credits keeps them
        record_credits: Decimal | None = credits
        details: dict[str, Any] = {}
        if credits is not None and ancestor_has_credits:
            details["credits_as_delivered"] = str(credits)
            record_credits = None
            self.double_counted += 1
        elif credits is not None and credits > 0 and passed_by_status is False:
            # ELMO credits are the credits the learner earned; a failed attempt earns none.
            details["credits_as_delivered"] = str(credits)
            record_credits = None
            warnings.add(
                "elmo.credits_on_fail",
                f"{credits} credits on a failed result; kept as delivered in details, not counted",
                ref,
                "credit",
            )

        details.update(
            {
                k: v
                for k, v in {
                    "elmo_status": status,
                    # ELMO: an absent status means passed; kept for results that carry no grade
                    "passed": passed_by_status,
                    "elmo_type": los_type,
                    "elmo_version": self.learner.version,
                    "grading_scheme_id": scheme_id,
                    "grading_scheme_descriptions": descriptions or None,
                    "academic_term": term_info,
                    "start": start.isoformat() if start else None,
                    "engagement_hours": engagement,
                    "language_of_instruction": language,
                    "loi_identifiers": dict(loi_ids) or None,
                    "other_credits": other_credits or None,
                    "learner_local_identifiers": self.learner.other_ids or None,
                }.items()
                if v is not None
            }
        )
        nus = by_type.get("nus")
        spec = SpecificationIn(
            kind=spec_kind,
            title=titles,
            code=code,
            code_scheme=code_scheme,
            owner=self.org,
            description=_texts_by_lang(spec_kids.all("description"), multiline=True) or None,
            credits=credits,
            credit_scheme=credit_scheme if credits is not None else None,
            nkr_level=nkr,
            eqf_level=eqf,
            nus_code=nus,
            iscedf_code=_text(spec_kids.one("iscedCode")),
            details={
                k: v
                for k, v in {
                    "elmo_type": los_type,
                    "identifiers": dict(identifiers) or None,
                    "subject_area": _text(spec_kids.one("subjectArea")),
                    "url": _text(spec_kids.one("url")),
                }.items()
                if v is not None
            }
            or None,
        )
        # The year the result was achieved, or none: the report's issue date is when the transcript was
        # printed, and giving an undated 2009 result the year 2026 would be a false fact in statistics.
        year = completed.year if completed else _term_year(term)
        los_identity = (code_scheme, code) if code else ("title", _preferred(titles), los_type)
        loi_identity: dict[str, Any] = dict(loi_ids) or {
            "start": start.isoformat() if start else None,
            "date": completed.isoformat() if completed else None,
            "term": term_info or term,
        }
        key_hash = _hash(
            self.org.scheme, self.org.value, _learner_key(self.person), los_identity, loi_identity
        )
        source_key = f"elmo:{self.org.scheme}={self.org.value}:{code or 'untitled'}:{key_hash[:24]}"
        record = AchievementRecord(
            ref=ref,
            source_key=source_key,
            sector=self.ctx.sector,
            kind=kind,
            person=self.person,
            awarding_org=self.org,
            specification=spec,
            grade=grade,
            credits=record_credits,
            credit_scheme=credit_scheme if record_credits is not None else None,
            completed_on=completed,
            year=year,
            term=term,
            parent_key=parent_key,
            details=details or None,
        )
        # A node carries credits for the no-double-counting rule only with a positive value: an outer
        # grouping that says <value>0</value> counts nothing, so its parts keep theirs.
        return record, refs, credits is not None and credits > 0

    def _credits(
        self, elements: list[etree._Element], ref: str
    ) -> tuple[Decimal | None, CreditScheme | None, dict[str, str]]:
        ns, warnings = self.ctx.ns, self.ctx.warnings
        chosen: tuple[Decimal, CreditScheme] | None = None
        others: dict[str, str] = {}
        for element in elements:
            scheme_raw = (_text(_child(element, ns, "scheme")) or "").strip()
            value_raw = _text(_child(element, ns, "value"))
            if value_raw is None:
                continue
            scheme = _credit_scheme(scheme_raw, self.ctx.sector)
            if scheme is None:
                others[scheme_raw or "(none)"] = value_raw
                continue
            try:
                value = parse_credits(value_raw)
            except (ValueError, InvalidOperation):
                warnings.add("elmo.credits_invalid", f"credits {value_raw!r} are not a number of 0-1000; ignored",
                             ref, "credit/value")  # fmt: skip
                continue
            if chosen is None:
                chosen = (_tidy(value), scheme)
        if chosen is None:
            return None, None, others
        return chosen[0], chosen[1], others

    def _levels(self, elements: list[etree._Element], ref: str) -> tuple[int | None, str | None]:
        ns, warnings = self.ctx.ns, self.ctx.warnings
        eqf: int | None = None
        nkr: str | None = None
        for element in elements:
            level_type = (_text(_child(element, ns, "type")) or "").upper()
            value = _text(_child(element, ns, "value"))
            if value is None:
                continue
            if level_type == "EQF":
                if value.isdigit() and 1 <= int(value) <= 8:
                    eqf = int(value)
                else:
                    warnings.add(
                        "elmo.level_invalid", f"EQF level {value!r} is not 1-8; ignored", ref, "level"
                    )
            elif level_type in ("NQF", "NKR") and self.issuer_info.get("country") in (None, "NO"):
                if value in NKR_TO_EQF:
                    nkr = value
                else:
                    warnings.add(
                        "elmo.level_invalid",
                        f"NKR level {value!r} is not one of {', '.join(NKR_TO_EQF)}; ignored",
                        ref,
                        "level",
                    )
        return eqf, nkr


class _Rejected(Exception):
    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        self.code, self.message, self.path = code, message, path


def _code(identifiers: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    usable = [(k, v) for k, v in identifiers if k.lower() not in _NOT_A_CODE]
    for wanted in _CODE_PREFERENCE:
        for kind, value in usable:
            if kind.lower() == wanted:
                return value, "fs" if wanted == "coursecode" else f"elmo-{wanted}"
    if usable:
        kind, value = usable[0]
        return value, f"elmo-{kind.lower() or 'identifier'}"[:32]
    return None, None


def _credit_scheme(raw: str, sector: Sector) -> CreditScheme | None:
    lowered = raw.lower()
    if lowered == "ects":
        # A fagskole delivering through FS reports fagskolepoeng on ELMO's one predefined scheme.
        return CreditScheme.FAGSKOLEPOENG if sector is Sector.VOCATIONAL else CreditScheme.ECTS
    if lowered in ("fagskolepoeng", "fsp"):
        return CreditScheme.FAGSKOLEPOENG
    if lowered in ("hours", "engagementhours"):
        return CreditScheme.HOURS
    return None


def _tidy(value: Decimal) -> Decimal:
    # "10.000" and "10" are the same credits; Decimal.normalize alone would write 1E+1.
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _term_year(term: str | None) -> int | None:
    if not term:
        return None
    match = _TERM_YEAR.search(term)
    return int(match[1]) if match else None


def _replace_key(record: AchievementRecord, key: str) -> AchievementRecord:
    return dataclasses.replace(record, source_key=key)


def _with_attachments(record: AchievementRecord, attachments: tuple[AttachmentIn, ...]) -> AchievementRecord:
    return dataclasses.replace(record, attachments=record.attachments + attachments)


def resolve_pending(
    pending: PendingRecord, global_attachments: dict[str, AttachmentIn], warn: Callable[[str, str, str], None]
) -> AchievementRecord:
    found = tuple(global_attachments[r] for r in pending.refs if r in global_attachments)
    for missing in (r for r in pending.refs if r not in global_attachments):
        warn(
            "elmo.attachment_ref_unknown",
            f"the result references attachment {missing!r}, which is not in the document",
            pending.record.ref,
        )
    return _with_attachments(pending.record, found) if found else pending.record
