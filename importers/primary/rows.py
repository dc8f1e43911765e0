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
from typing import Any, ClassVar

from importers.tabular import (
    WITHDRAWAL,
    Column,
    DocumentMemory,
    Row,
    RowImporter,
    RowRejected,
    TableKind,
    code_word,
    date_column,
    nin_column,
    orgnr_column,
    text_column,
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
        raise ValueError(f"{raw!r} is not a school year like 2024-2025")
    return f"{match.group(1)}-{match.group(2)}", int(match.group(2))


def _document_type(raw: str) -> DocumentType:
    code = code_word(raw)
    found = DOCUMENT_TYPES.get(_DOCUMENT_ALIASES.get(code, code))
    if found is None:
        raise ValueError(f"{raw!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    return found


def _assessment(raw: str) -> Assessment:
    found = ASSESSMENTS.get(code_word(raw))
    if found is None:
        raise ValueError(f"{raw!r} is not one of {', '.join(ASSESSMENTS)}")
    return found


def _fagkode(raw: str) -> str:
    code = raw.upper()
    if not FAGKODE_PATTERN.match(code):
        raise ValueError(f"{code!r} is not a Udir subject code (three letters and four digits, e.g. NOR1211)")
    return code


def _trade_code(raw: str) -> str:
    code = raw.upper()
    if not LAREFAG_PATTERN.match(code):
        raise ValueError(f"{code!r} is not a Udir programområde code (3–12 letters, digits or '-')")
    return code


def _county(raw: str) -> str:
    if not FYLKE_PATTERN.match(raw):
        raise ValueError(f"{raw!r} is not a two-digit fylkesnummer (e.g. 46)")
    return raw


# The columns, in the order the docs list them: each with how it is read and what it fills in the
# record (a subject row's; the document record takes the document columns).
FODSELSNUMMER = nin_column("fodselsnummer", fills=("person", "person.identifiers", "person.identifiers[0]"))
FORNAVN = text_column("fornavn", fills=("person.given_name",))
ETTERNAVN = text_column("etternavn", fills=("person.family_name",))
SKOLE_ORGNR = orgnr_column("skole_orgnr", fills=("awarding_org",))
SKOLE_NSR = text_column("skole_nsr")
DOKUMENTTYPE = Column("dokumenttype", _document_type, required=True, invalid="primary.document_type")
DOKUMENT_ID = text_column("dokument_id", required=True, fills=("source_key", "parent_key"))
UTSTEDT_DATO = date_column("utstedt_dato", required=True)
UTDANNINGSPROGRAM = text_column("utdanningsprogram")
SKOLEAR = Column(
    "skolear", parse_school_year, required=True, invalid="primary.school_year", fills=("term", "year")
)
FAGKODE = Column("fagkode", _fagkode, invalid="primary.fagkode", fills=("specification.code",))
FAGNAVN = text_column("fagnavn", fills=("specification.title",))
VURDERINGSTYPE = Column("vurderingstype", _assessment, required=True, invalid="primary.assessment_kind")
KARAKTER = text_column("karakter", required=True, fills=("grade",))
VURDERINGSDATO = date_column("vurderingsdato", fills=("completed_on",))
LAREFAG_KODE = Column("larefag_kode", _trade_code, invalid="primary.trade_code")
LAREFAG_NAVN = text_column("larefag_navn")
PROVEFYLKE = Column("provefylke", _county, invalid="primary.county")

COLUMNS: tuple[Column[Any], ...] = (
    FODSELSNUMMER,
    FORNAVN,
    ETTERNAVN,
    SKOLE_ORGNR,
    SKOLE_NSR,
    DOKUMENTTYPE,
    DOKUMENT_ID,
    UTSTEDT_DATO,
    UTDANNINGSPROGRAM,
    SKOLEAR,
    FAGKODE,
    FAGNAVN,
    VURDERINGSTYPE,
    KARAKTER,
    VURDERINGSDATO,
    LAREFAG_KODE,
    LAREFAG_NAVN,
    PROVEFYLKE,
    WITHDRAWAL,
)


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
    raise RowRejected(code, f"{reason}; {assessment.code} is graded {allowed}", KARAKTER.name)


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


_DOCUMENT_COLUMNS = tuple(
    c.name
    for c in (
        FODSELSNUMMER, FORNAVN, ETTERNAVN, DOKUMENTTYPE, DOKUMENT_ID, SKOLE_ORGNR, SKOLE_NSR, UTSTEDT_DATO,
        UTDANNINGSPROGRAM,
    )
)  # fmt: skip


class PrimaryRows(RowImporter):
    sectors: ClassVar[frozenset[Sector]] = frozenset({Sector.PRIMARY})
    columns: ClassVar[tuple[Column[Any], ...]] = COLUMNS
    refused: ClassVar[dict[str, tuple[str, str]]] = REFUSED
    markers: ClassVar[frozenset[str]] = frozenset({FAGKODE.name, VURDERINGSTYPE.name})
    # A vitnemål's rows are one raw record (2: until then each row was one)
    mapping_version: ClassVar[int] = 2
    raw_record_column: ClassVar[str | None] = DOKUMENT_ID.name

    def records(self, row: Row, documents: DocumentMemory) -> Iterator[AchievementRecord]:
        document = self._document(row, documents)
        assessment = self._assessment(row, document.type)
        school_year, year = SKOLEAR.need(row)
        grade = school_grade(assessment, KARAKTER.need(row))
        assessed = VURDERINGSDATO.get(row)
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
            if row.get(FAGKODE.name) is not None:
                raise RowRejected(
                    "primary.fagkode_not_allowed",
                    f"{assessment.code} has no fagkode; leave fagkode empty",
                    FAGKODE.name,
                )
            spec = SpecificationIn(kind=SpecificationKind.SUBJECT, title={"nb": assessment.title_nb})
            key = f"{parent}/{assessment.code}"
        else:
            fagkode = FAGKODE.need(row, f" for {assessment.code}")
            spec = SpecificationIn(
                kind=SpecificationKind.SUBJECT,
                title={"nb": FAGNAVN.need(row, " with a fagkode")},
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
        key = tuple(map(row.values.get, _DOCUMENT_COLUMNS))  # a generator here was 17 % of a re-send
        if documents.last_read is not None and documents.last_read[0] == key:
            document: _Document = documents.last_read[1]
            return document
        document = self._read_document(row)
        documents.last_read = (key, document)
        return document

    def _read_document(self, row: Row) -> _Document:
        nin = FODSELSNUMMER.need(row)
        doc_type = DOKUMENTTYPE.need(row)
        dokument_id = DOKUMENT_ID.need(row)
        orgnr = SKOLE_ORGNR.get(row)
        nsr = SKOLE_NSR.get(row)
        if orgnr is not None:
            school = OrgRef("orgnr", orgnr)
        elif nsr is not None:
            school = OrgRef("nsr", nsr)
        else:
            raise RowRejected(
                "field.missing", "skole_orgnr (or skole_nsr) is required but empty", SKOLE_ORGNR.name
            )
        issued = UTSTEDT_DATO.need(row)
        person = PersonIn(
            (IdentifierIn("nin", nin),), given_name=FORNAVN.get(row), family_name=ETTERNAVN.get(row)
        )
        fields = (
            (FODSELSNUMMER.name, nin),
            (SKOLE_ORGNR.name, orgnr),
            (SKOLE_NSR.name, nsr),
            (DOKUMENTTYPE.name, doc_type.code),
            (UTSTEDT_DATO.name, issued.isoformat()),
            (UTDANNINGSPROGRAM.name, UTDANNINGSPROGRAM.get(row)),
        )
        return _Document(dokument_id, doc_type, person, school, issued, fields)

    def _assessment(self, row: Row, doc_type: DocumentType) -> Assessment:
        assessment = VURDERINGSTYPE.need(row)
        if doc_type.trade and assessment.code != doc_type.assessment:
            raise RowRejected(
                "primary.assessment_kind",
                f"a {doc_type.code} holds only its {doc_type.assessment}; deliver {assessment.code} on a"
                " vitnemål or kompetansebevis",
                VURDERINGSTYPE.name,
            )
        if (
            assessment.code in _TRADE_TESTS
            and not doc_type.trade
            and doc_type.code != "kompetansebevis_fagopplaering"
        ):
            raise RowRejected(
                "primary.assessment_kind",
                f"{assessment.code} belongs on a fagbrev, svennebrev or kompetansebevis for fagopplæring",
                VURDERINGSTYPE.name,
            )
        return assessment

    def _document_record(self, row: Row, document: _Document) -> AchievementRecord:
        details = {"dokumenttype": document.type.code, "dokument_id": document.dokument_id}
        if (programme := UTDANNINGSPROGRAM.get(row)) is not None:
            details["utdanningsprogram"] = programme
        if document.school.scheme == "orgnr" and (nsr := SKOLE_NSR.get(row)) is not None:
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
        code = LAREFAG_KODE.need(row, f" for {assessment.code}")
        title = LAREFAG_NAVN.need(row, f" for {assessment.code}")
        county = PROVEFYLKE.need(row, f" for {assessment.code}")
        if row.get(FAGKODE.name) is not None:
            raise RowRejected(
                "primary.fagkode_not_allowed",
                f"a {assessment.code} names its trade in larefag_kode; leave fagkode empty",
                FAGKODE.name,
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
