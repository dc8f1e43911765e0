"""The register's row format for grunnopplæring: school grades, exams, orden/atferd, fag-/svennebrev.

One row is one assessment of one pupil (or one fag-/svennebrev). Every row repeats the document it
belongs to — a vitnemål, kompetansebevis, fagbrev … with its id and issue date — and the rows of one
vitnemål or kompetansebevis become the subject results ``part_of`` one document record. A fagbrev or
svennebrev row is itself the trade certificate. The format is documented field by field in
docs/formats/primary.md; the JSON variant has a JSON Schema in docs/formats/schemas/.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from importers.tabular import (
    WITHDRAWAL_COLUMN,
    Column,
    DocumentMemory,
    Row,
    RowImporter,
    RowRejected,
    TableKind,
    code_word,
    date_field,
    nin_field,
    orgnr_field,
    required,
    withdrawal,
)
from register.grading import ASSESSMENTS as ASSESSMENT_KINDS
from register.grading import (
    AchievementKind,
    GradeScheme,
    SpecificationKind,
    UnknownGrade,
    normalize_grade,
)
from register.records import AchievementRecord, GradeIn, IdentifierIn, OrgRef, PersonIn, SpecificationIn
from register.sectors import Sector

# The columns, in the order the docs list them.
FODSELSNUMMER = "fodselsnummer"
FORNAVN = "fornavn"
ETTERNAVN = "etternavn"
SKOLE_ORGNR = "skole_orgnr"
SKOLE_NSR = "skole_nsr"
DOKUMENTTYPE = "dokumenttype"
DOKUMENT_ID = "dokument_id"
UTSTEDT_DATO = "utstedt_dato"
UTDANNINGSPROGRAM = "utdanningsprogram"
SKOLEAR = "skolear"
FAGKODE = "fagkode"
FAGNAVN = "fagnavn"
VURDERINGSTYPE = "vurderingstype"
KARAKTER = "karakter"
VURDERINGSDATO = "vurderingsdato"
LAREFAG_KODE = "larefag_kode"
LAREFAG_NAVN = "larefag_navn"
PROVEFYLKE = "provefylke"
TRUKKET_ARSAK = WITHDRAWAL_COLUMN

COLUMNS: tuple[Column, ...] = (
    Column(FODSELSNUMMER, required=True),
    Column(FORNAVN),
    Column(ETTERNAVN),
    Column(SKOLE_ORGNR),
    Column(SKOLE_NSR),
    Column(DOKUMENTTYPE, required=True),
    Column(DOKUMENT_ID, required=True),
    Column(UTSTEDT_DATO, required=True),
    Column(UTDANNINGSPROGRAM),
    Column(SKOLEAR, required=True),
    Column(FAGKODE),
    Column(FAGNAVN),
    Column(VURDERINGSTYPE, required=True),
    Column(KARAKTER, required=True),
    Column(VURDERINGSDATO),
    Column(LAREFAG_KODE),
    Column(LAREFAG_NAVN),
    Column(PROVEFYLKE),
    Column(TRUKKET_ARSAK),
)

_NO_CREDITS = (
    "primary.credits_not_allowed",
    "grunnopplæring has no credits: fagskolepoeng and studiepoeng belong to fagskole and higher-education"
    " results (deliver those in the vocational or higher sector)",
)
REFUSED: dict[str, tuple[str, str]] = {
    "fagskolepoeng": _NO_CREDITS,
    "studiepoeng": _NO_CREDITS,
    "ects": _NO_CREDITS,
}


@dataclass(frozen=True, slots=True)
class DocumentType:
    code: str
    title_nb: str
    trade: bool  # a fag-/svennebrev: the row itself is the certificate
    assessment: str | None = None  # the one assessment kind a trade certificate holds


DOCUMENT_TYPES = {
    d.code: d
    for d in (
        DocumentType("vitnemal", "Vitnemål", trade=False),
        DocumentType("kompetansebevis", "Kompetansebevis", trade=False),
        DocumentType("kompetansebevis_fagopplaering", "Kompetansebevis for fagopplæring", trade=False),
        DocumentType("fagbrev", "Fagbrev", trade=True, assessment="fagprove"),
        DocumentType("svennebrev", "Svennebrev", trade=True, assessment="svenneprove"),
    )
}
_DOCUMENT_ALIASES = {"kompetansebevis_for_fagopplaering": "kompetansebevis_fagopplaering"}


@dataclass(frozen=True, slots=True)
class Assessment:
    code: str  # a key of register.grading.ASSESSMENTS: what it is and its labels are declared there
    kind: AchievementKind
    scales: tuple[GradeScheme, ...]  # tried in order; the first that knows the grade is its scale

    @property
    def title_nb(self) -> str:
        return ASSESSMENT_KINDS[self.code].title["nb"]


_SCHOOL_SCALES = (GradeScheme.NUMERIC_1_6, GradeScheme.PASS_FAIL)
ASSESSMENTS = {
    a.code: a
    for a in (
        Assessment("standpunkt", AchievementKind.SUBJECT_GRADE, _SCHOOL_SCALES),
        Assessment("skriftlig_eksamen", AchievementKind.EXAM, _SCHOOL_SCALES),
        Assessment("muntlig_eksamen", AchievementKind.EXAM, _SCHOOL_SCALES),
        Assessment("praktisk_eksamen", AchievementKind.EXAM, _SCHOOL_SCALES),
        Assessment("muntlig_praktisk_eksamen", AchievementKind.EXAM, _SCHOOL_SCALES),
        Assessment("orden", AchievementKind.SUBJECT_GRADE, (GradeScheme.CONDUCT,)),
        Assessment("atferd", AchievementKind.SUBJECT_GRADE, (GradeScheme.CONDUCT,)),
        Assessment("fagprove", AchievementKind.TRADE_CERTIFICATE, (GradeScheme.TRADE,)),
        Assessment("svenneprove", AchievementKind.TRADE_CERTIFICATE, (GradeScheme.TRADE,)),
    )
}
_CONDUCT = frozenset({"orden", "atferd"})
_TRADE_TESTS = frozenset({"fagprove", "svenneprove"})

FAGKODE_PATTERN = re.compile(r"^[A-ZÆØÅ]{3}[0-9]{4}$")
LAREFAG_PATTERN = re.compile(r"^[A-ZÆØÅ0-9-]{3,12}$")
FYLKE_PATTERN = re.compile(r"^[0-9]{2}$")
SKOLEAR_PATTERN = re.compile(r"^([0-9]{4})\s*[-/]\s*([0-9]{4})$")


@functools.lru_cache(maxsize=256)
def parse_school_year(raw: str) -> tuple[str, int]:
    """``2024-2025`` (or ``2024/2025``) → ("2024-2025", 2025): the canonical text and its end year."""
    match = SKOLEAR_PATTERN.match(raw.strip())
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise RowRejected(
            "primary.school_year", f"skolear {raw!r} is not a school year like 2024-2025", SKOLEAR
        )
    return f"{match.group(1)}-{match.group(2)}", int(match.group(2))


@functools.lru_cache(maxsize=1024)  # GradeIn is immutable; a file has few distinct (kind, grade) pairs
def school_grade(assessment: Assessment, raw: str) -> GradeIn:
    """The grade on the scale its assessment kind uses, or a rejection saying which scale it is on."""
    # A lone letter is an A–F grade even where an export system abbreviates bestått as "B".
    letter = len(raw.strip()) == 1 and raw.strip().casefold() in "abcdef"
    if not letter:
        for scheme in assessment.scales:
            try:
                return GradeIn(scheme, normalize_grade(scheme, raw).value)
            except UnknownGrade:
                continue
    other = GradeScheme.A_F if letter else _scale_of(raw)
    allowed = {
        GradeScheme.NUMERIC_1_6: "1–6, IV, fritatt or bestått/ikke bestått",
        GradeScheme.CONDUCT: "G, NG or LG",
        GradeScheme.TRADE: "bestått meget godt, bestått or ikke bestått",
    }[assessment.scales[0]]
    if other is GradeScheme.A_F:
        reason = "A–F grades belong to fagskole and higher education, not to grunnopplæring"
    elif other is GradeScheme.CONDUCT:
        reason = "G, NG and LG are grades for orden and atferd only"
    elif other is GradeScheme.NUMERIC_1_6:
        reason = "a 1–6 grade is for subjects and exams, not for this assessment"
    elif other is GradeScheme.TRADE:
        reason = "bestått meget godt is a fag-/svennebrev result"
    elif raw.strip().lstrip("-").isdigit():
        reason = f"{raw.strip()} is not on the 1–6 scale"
    else:
        reason = f"{raw!r} is on no grade scale of grunnopplæring"
    code = "grade.invalid" if other is None else "grade.wrong_scale"
    raise RowRejected(code, f"{reason}; {assessment.code} is graded {allowed}", KARAKTER)


def _scale_of(raw: str) -> GradeScheme | None:
    for scheme in (GradeScheme.A_F, GradeScheme.CONDUCT, GradeScheme.NUMERIC_1_6, GradeScheme.TRADE):
        try:
            normalize_grade(scheme, raw)
        except UnknownGrade:
            continue
        return scheme
    return None


@dataclass(frozen=True, slots=True)
class _Document:
    """The document fields every row repeats."""

    dokument_id: str
    type: DocumentType
    person: PersonIn
    school: OrgRef
    issued: dt.date
    fields: tuple[tuple[str, str | None], ...]  # what later rows must repeat the same


_DOCUMENT_COLUMNS = (
    FODSELSNUMMER, FORNAVN, ETTERNAVN, DOKUMENTTYPE, DOKUMENT_ID, SKOLE_ORGNR, SKOLE_NSR, UTSTEDT_DATO,
    UTDANNINGSPROGRAM,
)  # fmt: skip


class PrimaryRows(RowImporter):
    sectors: ClassVar[frozenset[Sector]] = frozenset({Sector.PRIMARY})
    columns: ClassVar[tuple[Column, ...]] = COLUMNS
    refused: ClassVar[dict[str, tuple[str, str]]] = REFUSED
    markers: ClassVar[frozenset[str]] = frozenset({FAGKODE, VURDERINGSTYPE})

    def records(self, row: Row, documents: DocumentMemory) -> Iterator[AchievementRecord]:
        document = self._document(row, documents)
        assessment = self._assessment(row, document.type)
        school_year, year = parse_school_year(required(row, SKOLEAR))
        grade = school_grade(assessment, required(row, KARAKTER))
        assessed = date_field(row, VURDERINGSDATO)
        completed = assessed or document.issued

        if document.type.trade:
            yield self._trade_certificate(row, document, assessment, grade, completed, year, school_year)
            return

        is_new, conflict = documents.check(document.dokument_id, document.fields)
        if conflict is not None:
            raise RowRejected(
                "primary.document_conflict",
                f"the row names document {document.dokument_id!r} with another {conflict} than its earlier rows",
                conflict,
            )
        if is_new:
            yield self._document_record(row, document)
        parent = _document_key(document.dokument_id)
        if assessment.code in _TRADE_TESTS:
            yield self._trade_certificate(
                row, document, assessment, grade, completed, year, school_year, parent_key=parent
            )
            return
        if assessment.code in _CONDUCT:
            if row.get(FAGKODE) is not None:
                raise RowRejected(
                    "primary.fagkode_not_allowed",
                    f"{assessment.code} has no fagkode; leave fagkode empty",
                    FAGKODE,
                )
            spec = SpecificationIn(kind=SpecificationKind.SUBJECT, title={"nb": assessment.title_nb})
            key = f"{parent}/{assessment.code}"
        else:
            fagkode = required(row, FAGKODE, f" for {assessment.code}").upper()
            if not FAGKODE_PATTERN.match(fagkode):
                raise RowRejected(
                    "primary.fagkode",
                    f"fagkode {fagkode!r} is not a Udir subject code (three letters and four digits, e.g. NOR1211)",
                    FAGKODE,
                )
            spec = SpecificationIn(
                kind=SpecificationKind.SUBJECT,
                title={"nb": required(row, FAGNAVN, " with a fagkode")},
                code=fagkode,
                code_scheme="udir-fagkode",
            )
            key = f"{parent}/{fagkode}/{assessment.code}"
        status, reason = withdrawal(row)
        yield AchievementRecord(
            ref=row.ref,
            source_key=key,
            sector=Sector.PRIMARY,
            kind=assessment.kind,
            person=document.person,
            awarding_org=document.school,
            specification=spec,
            grade=grade,
            completed_on=completed,
            year=year,
            term=school_year,
            parent_key=parent,
            status=status,
            withdrawal_reason=reason,
            details={"vurderingstype": assessment.code},
        )

    def _document(self, row: Row, documents: DocumentMemory) -> _Document:
        # A document's rows come together and repeat the same document columns: read them once.
        key = tuple(row.values.get(column) for column in _DOCUMENT_COLUMNS)
        if documents.last_read is not None and documents.last_read[0] == key:
            document: _Document = documents.last_read[1]
            return document
        document = self._read_document(row)
        documents.last_read = (key, document)
        return document

    def _read_document(self, row: Row) -> _Document:
        nin = nin_field(row, FODSELSNUMMER)
        raw_type = required(row, DOKUMENTTYPE)
        type_code = code_word(raw_type)
        type_code = _DOCUMENT_ALIASES.get(type_code, type_code)
        doc_type = DOCUMENT_TYPES.get(type_code)
        if doc_type is None:
            raise RowRejected(
                "primary.document_type",
                f"dokumenttype {raw_type!r} is not one of {', '.join(DOCUMENT_TYPES)}",
                DOKUMENTTYPE,
            )
        dokument_id = required(row, DOKUMENT_ID)
        orgnr = orgnr_field(row, SKOLE_ORGNR)
        nsr = row.get(SKOLE_NSR)
        if orgnr is not None:
            school = OrgRef("orgnr", orgnr)
        elif nsr is not None:
            school = OrgRef("nsr", nsr)
        else:
            raise RowRejected(
                "field.missing", "skole_orgnr (or skole_nsr) is required but empty", SKOLE_ORGNR
            )
        issued = date_field(row, UTSTEDT_DATO)
        if issued is None:
            raise RowRejected("field.missing", "utstedt_dato is required but empty", UTSTEDT_DATO)
        person = PersonIn(
            (IdentifierIn("nin", nin),), given_name=row.get(FORNAVN), family_name=row.get(ETTERNAVN)
        )
        fields = (
            (FODSELSNUMMER, nin),
            (SKOLE_ORGNR, orgnr),
            (SKOLE_NSR, nsr),
            (DOKUMENTTYPE, doc_type.code),
            (UTSTEDT_DATO, issued.isoformat()),
            (UTDANNINGSPROGRAM, row.get(UTDANNINGSPROGRAM)),
        )
        return _Document(dokument_id, doc_type, person, school, issued, fields)

    def _assessment(self, row: Row, doc_type: DocumentType) -> Assessment:
        raw = required(row, VURDERINGSTYPE)
        assessment = ASSESSMENTS.get(code_word(raw))
        if assessment is None:
            raise RowRejected(
                "primary.assessment_kind",
                f"vurderingstype {raw!r} is not one of {', '.join(ASSESSMENTS)}",
                VURDERINGSTYPE,
            )
        if doc_type.trade and assessment.code != doc_type.assessment:
            raise RowRejected(
                "primary.assessment_kind",
                f"a {doc_type.code} holds only its {doc_type.assessment}; deliver {assessment.code} on a"
                " vitnemål or kompetansebevis",
                VURDERINGSTYPE,
            )
        if (
            assessment.code in _TRADE_TESTS
            and not doc_type.trade
            and doc_type.code != "kompetansebevis_fagopplaering"
        ):
            raise RowRejected(
                "primary.assessment_kind",
                f"{assessment.code} belongs on a fagbrev, svennebrev or kompetansebevis for fagopplæring",
                VURDERINGSTYPE,
            )
        return assessment

    def _document_record(self, row: Row, document: _Document) -> AchievementRecord:
        details = {"dokumenttype": document.type.code, "dokument_id": document.dokument_id}
        if (programme := row.get(UTDANNINGSPROGRAM)) is not None:
            details["utdanningsprogram"] = programme
        if document.school.scheme == "orgnr" and (nsr := row.get(SKOLE_NSR)) is not None:
            details["skole_nsr"] = nsr
        issued = document.issued
        return AchievementRecord(
            ref=row.ref,
            source_key=_document_key(document.dokument_id),
            sector=Sector.PRIMARY,
            kind=AchievementKind.DIPLOMA,
            person=document.person,
            awarding_org=document.school,
            specification=SpecificationIn(
                kind=SpecificationKind.DOCUMENT,
                title={"nb": document.type.title_nb},
                code=document.type.code,
                code_scheme="dokumenttype",
            ),
            completed_on=issued,
            year=issued.year,
            details=details,
        )

    def _trade_certificate(
        self,
        row: Row,
        document: _Document,
        assessment: Assessment,
        grade: GradeIn,
        completed: dt.date,
        year: int,
        school_year: str,
        parent_key: str | None = None,
    ) -> AchievementRecord:
        code = required(row, LAREFAG_KODE, f" for {assessment.code}").upper()
        if not LAREFAG_PATTERN.match(code):
            raise RowRejected(
                "primary.trade_code",
                f"larefag_kode {code!r} is not a Udir programområde code (3–12 letters, digits or '-')",
                LAREFAG_KODE,
            )
        title = required(row, LAREFAG_NAVN, f" for {assessment.code}")
        county = required(row, PROVEFYLKE, f" for {assessment.code}")
        if not FYLKE_PATTERN.match(county):
            raise RowRejected(
                "primary.county",
                f"provefylke {county!r} is not a two-digit fylkesnummer (e.g. 46)",
                PROVEFYLKE,
            )
        if row.get(FAGKODE) is not None:
            raise RowRejected(
                "primary.fagkode_not_allowed",
                f"a {assessment.code} names its trade in larefag_kode; leave fagkode empty",
                FAGKODE,
            )
        details = {
            "vurderingstype": assessment.code,
            "dokumenttype": document.type.code,
            "dokument_id": document.dokument_id,
            "provefylke": county,
        }
        status, reason = withdrawal(row)
        key = _document_key(document.dokument_id)
        if parent_key is not None:
            key = f"{parent_key}/{code}/{assessment.code}"
        return AchievementRecord(
            ref=row.ref,
            source_key=key,
            sector=Sector.PRIMARY,
            kind=AchievementKind.TRADE_CERTIFICATE,
            person=document.person,
            awarding_org=document.school,
            specification=SpecificationIn(
                kind=SpecificationKind.TRADE,
                title={"nb": title},
                code=code,
                code_scheme="udir-programomrade",
                nkr_level="4",
                eqf_level=4,
            ),
            grade=grade,
            completed_on=completed,
            year=year,
            term=school_year,
            parent_key=parent_key,
            status=status,
            withdrawal_reason=reason,
            details=details,
        )


def _document_key(dokument_id: str) -> str:
    return f"primary/{dokument_id}"


class PrimaryCsvImporter(PrimaryRows):
    name: ClassVar[str] = "primary-csv"
    kind: ClassVar[TableKind] = "csv"


class PrimaryJsonImporter(PrimaryRows):
    name: ClassVar[str] = "primary-json"
    kind: ClassVar[TableKind] = "json"
