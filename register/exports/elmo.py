"""ELMO v1.7.0 export of one person's results, in every sector, optionally signed.

The document groups the person's valid achievements by awarding organisation into ``report``s, keeps
the register's trees (degree → courses, vitnemål → subjects, fagskole diploma → courses) as
``hasPart``, and writes each grade exactly as stored with a ``gradingScheme`` description. ELMO's
no-double-counting rule holds on the way out too: within a tree only the outermost node carrying
credits of a scheme writes them.

Mapping choices where ELMO has no exact place (see docs/formats/elmo.md):
- the issuer's organisasjonsnummer is written as identifier type ``orgnr``, the FS institution number
  as ``local`` (as FS does), next to ``erasmus``, ``schac`` and ``pic``;
- fagskolepoeng are written with credit scheme ``fagskolepoeng`` (ELMO allows custom schemes), never
  as ECTS;
- NKR levels are written as level type ``NQF``, next to the EQF level;
- a vitnemål, trade certificate or micro-credential gets no LOS ``type`` (none of ELMO's four fits).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from sqlalchemy import Connection, text

from register.errors import InvalidInput, NotFound
from register.identifiers import NinKind
from register.namespaces import ELMO_NS
from register.queries import AchievementRow, PersonRows, as_decimal, person_rows
from register.settings import Settings, get_settings

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_E = f"{{{ELMO_NS}}}"

_NORWEGIAN_ID_KINDS = frozenset(NinKind)
_LOS_TYPES = {"degree": "Degree Programme", "module": "Module", "course_result": "Course",
              "subject_grade": "Course", "exam": "Course"}  # fmt: skip
_ELMO_TYPES = frozenset({"Degree Programme", "Module", "Course", "Class"})
_CREDIT_SCHEMES = {"ects": "ects", "fagskolepoeng": "fagskolepoeng", "hours": "hours"}

# Descriptions of the register's own grade scales, written as ELMO gradingScheme elements.
_SCALE_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "a-f": {
        "en": "ECTS letter grades: A (excellent), B (very good), C (good), D (satisfactory) and E (sufficient)"
        " are passes; F is a fail.",
        "nb": "Bokstavkarakterer: A (fremragende), B (meget god), C (god), D (nokså god) og E (tilstrekkelig)"
        " er bestått; F er ikke bestått.",
    },
    "pass-fail": {"en": "Pass/fail.", "nb": "Bestått/ikke bestått."},
    # The foreign scales (register.grading), in words the importer recognises them by again.
    "ects-a-fx": {"en": "ECTS grading scale: A, B, C, D and E are passes; FX and F are fails."},
    "dk-7": {
        "en": "Danish 7-point scale (7-trinsskala): 12, 10, 7, 4 and 02 are passes; 00 and -3 are fails."
    },
    "se-u-g-vg": {"en": "Swedish scale U/G/VG: VG (väl godkänd) and G (godkänd) are passes; U is a fail."},
    "fi-0-5": {"en": "Finnish scale 0-5: 5 is the highest, 1 the lowest pass and 0 a fail."},
    "fi-pass-fail": {"en": "Finnish pass/fail: hyväksytty (godkänd) is a pass; hylätty (underkänd) a fail."},
    "de-1-5": {"en": "German scale 1,0-5,0: 1,0 is the highest, 4,0 the lowest pass and 5,0 a fail."},
    "pl-2-5": {"en": "Polish scale 2-5: 5 is the highest, 3 the lowest pass and 2 a fail."},
    "nl-1-10": {"en": "Dutch scale 1-10: 10 is the highest; 5.5 and above are passes."},
    "no-1-6": {
        "en": "Norwegian school grades 1-6: 6 is the highest, 2 the lowest pass and 1 a fail;"
        " IV means no basis for assessment.",
        "nb": "Karakterskala 1-6: 6 er beste karakter, 2 laveste bestått og 1 ikke bestått;"
        " IV er ikke vurderingsgrunnlag.",
    },
    "conduct": {
        "en": "Conduct and order (orden og atferd): G (good), NG (fairly good), LG (poor).",
        "nb": "Orden og atferd: G (god), NG (nokså god), LG (lite god).",
    },
    "trade": {
        "en": "Trade and journeyman's certificates: passed with distinction (bestått meget godt), passed"
        " (bestått), not passed (ikke bestått).",
        "nb": "Fag- og svennebrev: bestått meget godt, bestått, ikke bestått.",
    },
}


@dataclass(slots=True)
class _Achievement:
    row: AchievementRow
    details: dict[str, Any]  # the achievement's and its specification's details: what ELMO writes
    spec_details: dict[str, Any]  # beyond the read model's columns
    children: list[_Achievement] = field(default_factory=list)


@dataclass(slots=True)
class _Report:
    org_id: int
    roots: list[_Achievement] = field(default_factory=list)
    schemes: dict[tuple[str, str], str] = field(default_factory=dict)  # (scheme, description) → localId
    scheme_texts: dict[str, dict[str, str]] = field(default_factory=dict)
    attachments: list[Any] = field(default_factory=list)
    written: list[str] = field(default_factory=list)  # achievement ids, in document order


@dataclass(frozen=True, slots=True)
class ElmoExport:
    document: bytes  # UTF-8 XML
    achievement_ids: list[str]  # every achievement the document holds, in document order (for the audit)


def export_person_elmo(
    connection: Connection,
    person_id: uuid.UUID,
    *,
    sign: bool = False,
    sectors: Sequence[str] | None = None,
    passed_only: bool = False,
) -> ElmoExport:
    """All valid achievements of one person as an ELMO v1.7.0 document, and which achievements it holds.

    The achievements come from ``register.queries.person_rows``, the read model REST's look-up and
    GraphQL give out too (same filter, same order; ``sectors`` and ``passed_only`` as there); the ids
    returned are those written, so an audit row built from them names exactly what the document gave out. Raises NotFound
    (``person.not_found``, ``elmo.nothing_to_export``) and, with ``sign``, InvalidInput
    (``elmo.signing_not_configured``, ``elmo.signing_key_unreadable``).
    """
    settings = get_settings()
    person = person_rows(connection, person_id, sectors=sectors, passed_only=passed_only)
    if person is None:
        raise NotFound("person.not_found", "no such person in the register")
    rows = person.achievements
    if not rows:
        raise NotFound("elmo.nothing_to_export", "the person has no valid results to export")
    identifiers = connection.execute(
        text("SELECT kind, scheme, value FROM person_identifier WHERE person_id = :p ORDER BY id"),
        {"p": person_id},
    ).all()
    ids = [r.id for r in rows]
    # What ELMO writes beyond the read model, fetched for exactly the achievements read (by id and
    # version), so a change committed between the two statements cannot add or drop a result.
    details = {
        d.id: d
        for d in connection.execute(
            text(
                """SELECT a.id::text AS id, a.version, a.details, s.details AS spec_details
                   FROM achievement a JOIN learning_specification s ON s.id = a.specification_id
                   WHERE a.id = ANY(CAST(:ids AS uuid[]))"""
            ),
            {"ids": ids},
        )
    }
    org_ids = sorted({r.awarding_org_id for r in rows})
    orgs = {
        o.id: o
        for o in connection.execute(
            text(
                "SELECT id, orgnr, name_nb, name_nn, name_en, name_lang, country FROM organisation"
                " WHERE id = ANY(:ids)"
            ),
            {"ids": org_ids},
        )
    }
    codes: dict[int, dict[str, str]] = defaultdict(dict)
    for org_id, scheme, value in connection.execute(
        text(
            "SELECT organisation_id, scheme, value FROM organisation_code WHERE organisation_id = ANY(:ids)"
            " ORDER BY id"
        ),
        {"ids": org_ids},
    ):
        codes[org_id].setdefault(scheme, value)
    versions = {r.id: r.version for r in rows}
    attachments: dict[str, list[Any]] = defaultdict(list)
    for att in connection.execute(
        text(
            """SELECT aa.id, aa.achievement_id::text AS achievement_id, aa.version, aa.media_type, aa.title,
                      aa.content
               FROM achievement_attachment aa WHERE aa.achievement_id = ANY(CAST(:ids AS uuid[]))
               ORDER BY aa.id"""
        ),
        {"ids": ids},
    ):
        if versions[att.achievement_id] == att.version:
            attachments[att.achievement_id].append(att)

    reports = _group(rows, details, versions)
    root = etree.Element(f"{_E}elmo", nsmap={None: ELMO_NS})
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    _sub(root, "generatedDate", now.isoformat())
    _learner(root, person, identifiers)
    for report in reports:
        _report(root, report, orgs[report.org_id], codes.get(report.org_id, {}), attachments, now)
    etree.indent(root, space="  ")
    if sign:
        root = _sign(root, settings)
    written = [achievement_id for report in reports for achievement_id in report.written]
    return ElmoExport(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), written)


# --- structure --------------------------------------------------------------------------------------


def _group(
    rows: Sequence[AchievementRow], details: dict[str, Any], versions: dict[str, int]
) -> list[_Report]:
    """Reports by awarding organisation (in order of first result); trees within one organisation."""
    nodes = {}
    for r in rows:
        extra = details.get(r.id)
        # A newer version committed since the read: its details are not what was read, so none are
        # written (the result itself, as read, still is).
        if extra is not None and extra.version == versions[r.id]:
            nodes[r.id] = _Achievement(r, extra.details or {}, extra.spec_details or {})
        else:
            nodes[r.id] = _Achievement(r, {}, {})
    reports: dict[int, _Report] = {}
    for row in rows:
        report = reports.setdefault(row.awarding_org_id, _Report(row.awarding_org_id))
        parent = nodes.get(row.part_of_id) if row.part_of_id else None
        # A part nests under its parent when both come from the same issuer; otherwise each issuer's
        # report carries its own results at the top.
        if parent is not None and parent.row.awarding_org_id == row.awarding_org_id:
            parent.children.append(nodes[row.id])
        else:
            report.roots.append(nodes[row.id])
    return list(reports.values())


def _sub(parent: etree._Element, name: str, value: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{_E}{name}", attrs)
    if value is not None:
        element.text = value
    return element


def _lang(parent: etree._Element, name: str, texts: dict[str, str] | None) -> None:
    for lang, value in (texts or {}).items():
        element = _sub(parent, name, value)
        if lang and lang != "und":
            element.set(XML_LANG, lang)


def _learner(root: etree._Element, person: PersonRows, identifiers: Sequence[Any]) -> None:
    learner = _sub(root, "learner")
    norwegian = [i for i in identifiers if i.kind in _NORWEGIAN_ID_KINDS]
    foreign = [i for i in identifiers if i.kind == "foreign"]
    national: list[Any] = norwegian
    if not norwegian and foreign:
        # Only a foreign national id: it is the learner's national identifier, with its country.
        national = foreign[:1]
        if len(national[0].scheme) == 2 and national[0].scheme.isalpha():
            _sub(learner, "citizenship", national[0].scheme.upper())
    for ident in national:
        _sub(learner, "identifier", ident.value, type="nationalIdentifier")
    for ident in identifiers:
        if ident.kind == "esi":
            _sub(learner, "identifier", ident.value, type="esi")
    _sub(learner, "givenNames", person.given_name or "")
    _sub(learner, "familyName", person.family_name or "")
    if person.birth_date is not None:
        _sub(learner, "bday", person.birth_date.isoformat())


def _report(
    root: etree._Element,
    report: _Report,
    org: Any,
    codes: dict[str, str],
    attachments: dict[str, list[Any]],
    now: dt.datetime,
) -> None:
    element = _sub(root, "report")
    issuer = _sub(element, "issuer")
    if org.country:
        _sub(issuer, "country", org.country)
    if org.orgnr:
        _sub(issuer, "identifier", org.orgnr, type="orgnr")
    for scheme, elmo_type in (("fs", "local"), ("erasmus", "erasmus"), ("schac", "schac"), ("pic", "pic")):
        if scheme in codes:
            _sub(issuer, "identifier", codes[scheme], type=elmo_type)
    if not org.orgnr and not codes:
        _sub(issuer, "identifier", str(org.id), type="register")
    # The main name in its own language (Uniwersytet Warszawski is Polish, not bokmål); "und" when the
    # language is unknown, which _lang writes without xml:lang.
    titles = {org.name_lang or "und": org.name_nb}
    for lang, value in (("nn", org.name_nn), ("en", org.name_en)):
        if value:
            titles.setdefault(lang, value)
    _lang(issuer, "title", titles)
    if "schac" in codes:
        url = f"https://{codes['schac']}/"
    elif org.orgnr:
        url = f"https://data.brreg.no/enhetsregisteret/oppslag/enheter/{org.orgnr}"
    else:
        url = ""
    _sub(issuer, "url", url)
    for node in report.roots:
        _los(element, node, report, attachments, carried=frozenset())
    _sub(element, "issueDate", now.isoformat())
    for local_id, texts in report.scheme_texts.items():
        scheme_element = _sub(element, "gradingScheme", localId=local_id)
        _lang(scheme_element, "description", texts)
    for att in report.attachments:
        attachment = _sub(element, "attachment")
        _sub(attachment, "identifier", f"att-{att.id}", type="internal")
        if att.title:
            _sub(attachment, "title", att.title)
        payload = base64.b64encode(bytes(att.content)).decode()
        _sub(attachment, "content", f"data:{att.media_type};base64,{payload}")


def _los(
    parent: etree._Element,
    node: _Achievement,
    report: _Report,
    attachments: dict[str, list[Any]],
    carried: frozenset[str | None],
) -> None:
    row = node.row
    report.written.append(row.id)
    spec_details = node.spec_details
    details = node.details
    los = _sub(parent, "learningOpportunitySpecification")
    if row.code:
        _sub(los, "identifier", row.code, type="local")
        # The code's own scheme as a second identifier: "ewp-los-id" for a code read from ELMO as
        # elmo-ewp-los-id, "udir" for a fagkode, "courseCode" for an FS emnekode.
        scheme = (row.code_scheme or "").removeprefix("elmo-")
        if scheme and scheme not in ("local", "fs"):
            _sub(los, "identifier", row.code, type=scheme)
        if row.code_scheme == "fs":
            _sub(los, "identifier", row.code, type="courseCode")
    if row.nus_code:
        _sub(los, "identifier", row.nus_code, type="nus")
    titles = orjson.loads(row.title_json) or {}
    _lang(los, "title", titles if titles else {"und": row.code or ""})
    los_type = spec_details.get("elmo_type")
    los_type = los_type if los_type in _ELMO_TYPES else _LOS_TYPES.get(row.kind)
    if los_type:
        _sub(los, "type", los_type)
    if row.iscedf_code:
        _sub(los, "iscedCode", row.iscedf_code)
    _lang(los, "description", orjson.loads(row.description_json) if row.description_json else None)
    loi = _sub(_sub(los, "specifies"), "learningOpportunityInstance")
    start = details.get("start")
    if isinstance(start, str) and _is_date(start):
        _sub(loi, "start", start)
    if row.completed_on is not None:
        _sub(loi, "date", row.completed_on.isoformat())
    term = details.get("academic_term") or {}
    if (
        isinstance(term, dict)
        and _is_date(term.get("start"))
        and _is_date(term.get("end"))
        and term.get("title")
    ):
        academic = _sub(loi, "academicTerm")
        _lang(academic, "title", term["title"])
        _sub(academic, "start", term["start"])
        _sub(academic, "end", term["end"])
    status = details.get("elmo_status")
    if status not in ("passed", "failed", "in-progress"):
        status = "failed" if row.grade_passed is False else "passed"
    _sub(loi, "status", status)
    if row.grade_value:
        _sub(loi, "gradingSchemeLocalId", _scheme_id(report, row, details))
        _sub(loi, "resultLabel", row.grade_value)
    credits = as_decimal(row.credits)
    writes_credits = credits is not None and row.credit_scheme not in carried
    if credits is not None and writes_credits:
        credit = _sub(loi, "credit")
        scheme = row.credit_scheme or ""
        _sub(credit, "scheme", _CREDIT_SCHEMES.get(scheme, scheme))
        _sub(credit, "value", _decimal(credits))
    if row.eqf_level is not None:
        level = _sub(loi, "level")
        _sub(level, "type", "EQF")
        _sub(level, "description", "European Qualifications Framework")
        _sub(level, "value", str(row.eqf_level))
    if row.nkr_level:
        level = _sub(loi, "level")
        _sub(level, "type", "NQF")
        _sub(level, "description", "Nasjonalt kvalifikasjonsrammeverk (NKR)")
        _sub(level, "value", row.nkr_level)
    language = details.get("language_of_instruction")
    if isinstance(language, str) and language.strip():
        _sub(loi, "languageOfInstruction", language.strip())
    hours = _as_decimal(details.get("engagement_hours"))
    if hours is not None:
        _sub(loi, "engagementHours", _decimal(hours))
    own = attachments.get(row.id, [])
    if own:
        refs = _sub(loi, "attachments")
        for att in own:
            report.attachments.append(att)
            _sub(refs, "ref", f"att-{att.id}")
    inner = carried | {row.credit_scheme} if writes_credits else carried
    for child in node.children:
        _sub_part = _sub(los, "hasPart")
        _los(_sub_part, child, report, attachments, inner)


def _scheme_id(report: _Report, row: AchievementRow, details: dict[str, Any]) -> str:
    """The report-local id of the grade's scheme, adding its description to the report once.

    The description delivered with the grade (an institution's own wording) wins; the register's
    description of its scale is the fallback.
    """
    scheme = row.grade_scheme or "external"
    stored = details.get("grading_scheme_descriptions")
    texts: dict[str, str]
    if isinstance(stored, dict) and stored:
        texts = {str(k): str(v) for k, v in stored.items()}
    elif isinstance(details.get("grading_scheme"), str):
        texts = {"und": details["grading_scheme"]}
    elif scheme in _SCALE_DESCRIPTIONS:
        texts = _SCALE_DESCRIPTIONS[scheme]
    else:
        texts = {"en": "The issuing institution's own grading scale."}
    key = (scheme, repr(sorted(texts.items())))
    if key not in report.schemes:
        standard = scheme in _SCALE_DESCRIPTIONS and texts is _SCALE_DESCRIPTIONS[scheme]
        local_id = scheme if standard else f"{scheme}-{len(report.schemes) + 1}"
        report.schemes[key] = local_id
        report.scheme_texts[local_id] = texts
    return report.schemes[key]


def _decimal(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return str(value.normalize())


def _as_decimal(raw: Any) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value >= 0 else None


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# --- signing ----------------------------------------------------------------------------------------


def _sign(root: etree._Element, settings: Settings) -> etree._Element:
    key_path, cert_path = settings.elmo_signing_key_path, settings.elmo_signing_cert_path
    if key_path is None or cert_path is None:
        raise InvalidInput(
            "elmo.signing_not_configured",
            "signing needs REGISTER_ELMO_SIGNING_KEY_PATH and REGISTER_ELMO_SIGNING_CERT_PATH",
        )
    key, cert = _read(key_path, "key"), _read(cert_path, "certificate")
    return sign_elmo(root, key, cert)


def sign_elmo(root: etree._Element, key_pem: bytes, cert_pem: bytes) -> etree._Element:
    """Enveloped XML-DSig over the whole document: one Reference URI="", RSA-SHA256, inclusive C14N 1.0
    (the canonicalization EMREX uses), the certificate in KeyInfo."""
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    try:
        return signer.sign(root, key=key_pem, cert=cert_pem.decode())
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            "elmo.signing_key_unreadable", f"the signing key or certificate cannot be used: {exc}"
        ) from None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            "elmo.signing_key_unreadable", f"the signing {what} cannot be read: {exc.strerror}"
        ) from None
