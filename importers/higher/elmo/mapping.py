"""ELMO elements → normalized records. Pure functions over one learner and one report.

The mapping reads elements by local name within the document's ELMO namespace, so the same code reads
v1.0-v1.7, v2.0 and (where it maps cleanly) the pre-2015 purl.org namespace, whose learner sits inside
the report, whose credits sit on the specification and whose grade is ``result``.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from importers.higher.elmo.elements import (
    Learner,
    PendingRecord,
    ReportContext,
    Warnings,
    child_named,
    children_named,
    date_of,
    identifiers_in,
    person_key,
    preferred,
    qualified,
    text_of,
    texts_by_lang,
)
from importers.higher.elmo.los import (
    LosMapper,
    with_attachments,
)
from importers.higher.elmo.reader import LEGACY_NS, local_name
from register.records import (
    AchievementRecord,
    AttachmentIn,
    IdentifierIn,
    OrgRef,
    PersonIn,
    RecordError,
)

_ISSUER_SCHEMES = ("orgnr", "fs", "erasmus", "schac", "pic")


# --- learner ---------------------------------------------------------------------------------------


def read_learner(element: etree._Element, ns: str, warnings: Warnings, where: str) -> Learner:
    learner = Learner()
    learner.citizenship = (text_of(child_named(element, ns, "citizenship")) or "").upper() or None
    for kind, value in identifiers_in(element, ns):
        lowered = kind.lower()
        if lowered == "nationalidentifier":
            learner.national_ids.append(value)
        elif lowered == "esi":
            learner.esi.append(value)
        elif lowered == "nationality" and ns == LEGACY_NS:
            learner.citizenship = learner.citizenship or value.upper()
        else:
            learner.other_ids.setdefault(kind, value)
    learner.given_name = text_of(child_named(element, ns, "givenNames"))
    learner.family_name = text_of(child_named(element, ns, "familyName"))
    birth = child_named(element, ns, "dateOfBirth")
    if birth is not None:
        learner.version = "2.0"
    else:
        birth = child_named(element, ns, "bday")
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


# --- attachments -----------------------------------------------------------------------------------


def read_attachment(
    element: etree._Element, ns: str, warnings: Warnings, where: str
) -> tuple[list[str], AttachmentIn | None]:
    """The attachment's identifiers and its first decodable content (a data URI), as raw bytes."""
    ids = [value for _, value in identifiers_in(element, ns)]
    titles = texts_by_lang(children_named(element, ns, "title"))
    kind = text_of(child_named(element, ns, "type"))
    title = preferred(titles) or kind
    for content in children_named(element, ns, "content"):
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
    country = (text_of(child_named(element, ns, "country")) or "").upper() or None
    identifiers = identifiers_in(element, ns)
    titles = texts_by_lang(children_named(element, ns, "title"))
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
    report_learner = child_named(element, ns, "learner")
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
    top_level = children_named(element, ns, "learningOpportunitySpecification")
    groups = _issuer_groups(element, ns)
    problem: tuple[str, str] | None = None
    if groups is None:
        groups = [(child_named(element, ns, "issuer"), top_level)]
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
    for scheme in children_named(element, ns, "gradingScheme"):
        local_id = (scheme.get("localId") or "").strip()
        if local_id:
            schemes[local_id] = texts_by_lang(children_named(scheme, ns, "description"), multiline=True)
    attachments: dict[str, AttachmentIn] = {}
    for attachment in children_named(element, ns, "attachment"):
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
    issue_date = date_of(child_named(element, ns, "issueDate"), ctx.warnings, ctx.where, "issueDate")

    seen_keys: dict[str, int] = {}
    double_counted = 0
    learner_key = person_key(person)
    for org, issuer_info, group in resolved:
        mapper = LosMapper(
            ctx, org, person, learner, schemes, attachments, issue_date, issuer_info, learner_key
        )
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
    issuers = children_named(report, ns, "issuer")
    if len(issuers) <= 1:
        return [
            (issuers[0] if issuers else None, children_named(report, ns, "learningOpportunitySpecification"))
        ]
    groups: list[tuple[etree._Element | None, list[etree._Element]]] = []
    los_tag, issuer_tag = qualified(ns, "learningOpportunitySpecification"), qualified(ns, "issuer")
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
            for has in children_named(los, ns, "hasPart")
            for p in children_named(has, ns, "learningOpportunitySpecification")
        ]
        yield from _walk(parts, ns, f"{path}/hasPart")


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
    return with_attachments(pending.record, found) if found else pending.record
