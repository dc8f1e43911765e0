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
from typing import Any

import orjson
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from sqlalchemy import Connection, text

from register.errors import InvalidInput, NotFound
from register.exports.grading_schemes import SCALE_DESCRIPTIONS
from register.exports.signing import (
    SigningIdentity,
    SigningUnavailable,
    required_identity,
    signing_identity,
)
from register.grading import FRITATT
from register.identifiers import NinKind
from register.namespaces import ELMO_NS
from register.queries import (
    EVERYTHING,
    AchievementRow,
    PersonRows,
    Selection,
    as_decimal,
    assessment_view,
    person_rows,
)
from register.settings import Settings, get_settings

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_E = f"{{{ELMO_NS}}}"

_NORWEGIAN_ID_KINDS = frozenset(NinKind)
_LOS_TYPES = {"degree": "Degree Programme", "module": "Module", "course_result": "Course",
              "subject_grade": "Course", "exam": "Course"}  # fmt: skip
_ELMO_TYPES = frozenset({"Degree Programme", "Module", "Course", "Class"})
_CREDIT_SCHEMES = {"ects": "ects", "fagskolepoeng": "fagskolepoeng", "hours": "hours"}


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
    signed: bool = False


def person_elmo(
    connection: Connection,
    person_id: uuid.UUID,
    selection: Selection = EVERYTHING,
    settings: Settings | None = None,
    *,
    signer: SigningIdentity | None = None,
) -> ElmoExport:
    """The person's selected valid achievements as a signed ELMO document: what every reader gives out.

    The REST endpoint and the citizen's pages call this; the caller writes the audit row from
    ``achievement_ids``. Signed with the configured key (the development key in development); a
    production register without a key raises ``SigningUnavailable`` (``elmo.signing_not_configured``,
    503). ``signer``: the identity a caller has already found with ``required_identity``. Raises
    NotFound as ``export_person_elmo`` does.
    """
    identity = signer or required_identity(settings or get_settings())
    return export_person_elmo(connection, person_id, selection, signer=identity)


def export_person_elmo(
    connection: Connection,
    person_id: uuid.UUID,
    selection: Selection = EVERYTHING,
    *,
    sign: bool = False,
    signer: SigningIdentity | None = None,
) -> ElmoExport:
    """The selected valid achievements of one person as an ELMO v1.7.0 document, and which it holds.

    The achievements come from ``register.queries.person_rows``, the read model REST's look-up and
    GraphQL give out too (same filter, same order); the ids returned are those written, so an audit
    row built from them names exactly what the document gave out. An exemption (``fritatt``) is not
    written: ELMO's status is passed, failed or in progress, and a result without one is read as
    passed. Signed with ``signer``, or with ``sign`` by the key ``signing_identity`` finds. Raises
    NotFound (``person.not_found``, ``elmo.nothing_to_export``) and, when signing, InvalidInput
    (``elmo.signing_not_configured``, ``elmo.signing_key_unreadable``).
    """
    if sign and signer is None:
        signer = signing_identity(get_settings())
        if signer is None:
            raise InvalidInput(
                "elmo.signing_not_configured",
                "signing needs REGISTER_ELMO_SIGNING_KEY_PATH and REGISTER_ELMO_SIGNING_CERT_PATH",
            )
    person = person_rows(connection, person_id, selection)
    if person is None:
        raise NotFound("person.not_found", "no such person in the register")
    rows = [r for r in person.achievements if not _is_exemption(r)]
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
    if signer is not None:
        root = sign_elmo(root, signer)
    written = [achievement_id for report in reports for achievement_id in report.written]
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return ElmoExport(document, written, signed=signer is not None)


def _is_exemption(row: AchievementRow) -> bool:
    return row.grade_scheme is not None and row.grade_value == FRITATT.value and row.grade_passed is None


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
    _lang(los, "description", _description(row))
    loi = _sub(_sub(los, "specifies"), "learningOpportunityInstance")
    if row.assessment_code:
        # Standpunkt and each exam of one subject are separate results: this names which one it is.
        _sub(loi, "identifier", row.assessment_code, type="vurderingstype")
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


def _description(row: AchievementRow) -> dict[str, str] | None:
    """The specification's description; for a school result, its assessment or its programme."""
    if row.description_json:
        described: dict[str, str] = orjson.loads(row.description_json)
        return described
    assessment = assessment_view(row.assessment_code)
    if assessment is not None:
        return assessment.title
    if row.programme:
        return {"nb": f"Utdanningsprogram: {row.programme}", "en": f"Education programme: {row.programme}"}
    return None


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
    elif scheme in SCALE_DESCRIPTIONS:
        texts = SCALE_DESCRIPTIONS[scheme]
    else:
        texts = {"en": "The issuing institution's own grading scale."}
    key = (scheme, repr(sorted(texts.items())))
    if key not in report.schemes:
        standard = scheme in SCALE_DESCRIPTIONS and texts is SCALE_DESCRIPTIONS[scheme]
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


def sign_elmo(root: etree._Element, identity: SigningIdentity) -> etree._Element:
    """Enveloped XML-DSig over the whole document: one Reference URI="", RSA-SHA256, inclusive C14N 1.0
    (the canonicalization EMREX uses), the certificate in KeyInfo."""
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    try:
        return signer.sign(root, key=identity.key_pem, cert=identity.cert_pem.decode())
    except (ValueError, TypeError) as exc:
        raise SigningUnavailable(
            "elmo.signing_key_unreadable", f"the signing key or certificate cannot be used: {exc}"
        ) from None
