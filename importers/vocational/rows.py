"""The register's row format for fagskoler: course (emne) results and the vitnemål they belong to.

One row is one course result of one student. A row that names a vitnemål (``vitnemal_id``) also makes,
the first time the file names it, the vitnemål record for the completed education (utdanning), and
the course becomes ``part_of`` it. Credits are fagskolepoeng (their own scheme, never ECTS); fagskole
education is at NKR level 5.1 or 5.2. Documented field by field in docs/formats/vocational.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from importers.tabular import (
    WITHDRAWAL,
    Column,
    DocumentMemory,
    Row,
    RowImporter,
    RowRejected,
    TableKind,
    date_column,
    nin_column,
    orgnr_column,
    text_column,
    withdrawal,
)
from register.grading import (
    NKR_TO_EQF,
    AchievementKind,
    CreditScheme,
    GradeScheme,
    SpecificationKind,
    UnknownGrade,
    normalize_grade,
    parse_credits,
)
from register.records import AchievementRecord, GradeIn, IdentifierIn, OrgRef, PersonIn, SpecificationIn
from register.sectors import Sector

FAGSKOLE_NKR_LEVELS = ("5.1", "5.2")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9ÆØÅæøå][A-Za-z0-9ÆØÅæøå._/-]{0,29}$")
SEMESTER_PATTERN = re.compile(r"^([0-9]{4})\s*([VH])$|^([VH])\s*([0-9]{4})$", re.IGNORECASE)


def _code(raw: str) -> str:
    if not CODE_PATTERN.match(raw):
        raise ValueError(f"{raw!r} is not a code (letters, digits, '.', '_', '/', '-'; ≤30)")
    return raw


def _fagskolepoeng(raw: str) -> Decimal:
    try:
        return parse_credits(raw)
    except (ValueError, InvalidOperation):
        raise ValueError(f"{raw!r} is not a number of fagskolepoeng between 0 and 1000") from None


def _nkr_level(raw: str) -> str:
    level = raw.replace(",", ".")
    if level not in FAGSKOLE_NKR_LEVELS:
        raise ValueError(f"{level!r} is not a fagskole level; fagskole education is at NKR 5.1 or 5.2")
    return level


def _semester(raw: str) -> str:
    """``2025V``, ``2025 H``, ``V2025`` → ``2025V``: one spelling, so a re-send in another is no change."""
    match = SEMESTER_PATTERN.match(raw)
    if not match:
        raise ValueError(f"{raw!r} is not a year and V (vår) or H (høst), e.g. 2025H")
    year = match.group(1) or match.group(4)
    half = (match.group(2) or match.group(3)).upper()
    return f"{year}{half}"


# The columns of the format, each with how it is read and what it fills in the record (a course row's
# record; the vitnemål the row names takes the utdanning_* columns).
FODSELSNUMMER = nin_column("fodselsnummer", fills=("person", "person.identifiers", "person.identifiers[0]"))
FORNAVN = text_column("fornavn", fills=("person.given_name",))
ETTERNAVN = text_column("etternavn", fills=("person.family_name",))
FAGSKOLE_ORGNR = orgnr_column("fagskole_orgnr", required=True, fills=("awarding_org", "specification.owner"))
UTDANNING_KODE = Column("utdanning_kode", _code, required=True, invalid="vocational.code")
UTDANNING_NAVN = text_column("utdanning_navn", required=True)
NKR_NIVA = Column(
    "nkr_niva", _nkr_level, required=True, invalid="vocational.nkr_level", fills=("specification.nkr_level",)
)
UTDANNING_FAGSKOLEPOENG = Column("utdanning_fagskolepoeng", _fagskolepoeng, invalid="credits.invalid")
EMNEKODE = Column("emnekode", _code, required=True, invalid="vocational.code", fills=("specification.code",))
EMNENAVN = text_column("emnenavn", required=True, fills=("specification.title",))
FAGSKOLEPOENG = Column(
    "fagskolepoeng",
    _fagskolepoeng,
    required=True,
    invalid="credits.invalid",
    fills=("credits", "specification.credits"),
)
KARAKTER = text_column("karakter", required=True, fills=("grade",))
FULLFORT_DATO = date_column("fullfort_dato", required=True, fills=("completed_on",))
SEMESTER = Column("semester", _semester, invalid="vocational.semester", fills=("term",))
RESULTAT_ID = text_column("resultat_id", fills=("source_key",))
VITNEMAL_ID = text_column("vitnemal_id", fills=("parent_key",))
VITNEMAL_DATO = date_column("vitnemal_dato")

COLUMNS: tuple[Column[Any], ...] = (
    FODSELSNUMMER,
    FORNAVN,
    ETTERNAVN,
    FAGSKOLE_ORGNR,
    UTDANNING_KODE,
    UTDANNING_NAVN,
    NKR_NIVA,
    UTDANNING_FAGSKOLEPOENG,
    EMNEKODE,
    EMNENAVN,
    FAGSKOLEPOENG,
    KARAKTER,
    FULLFORT_DATO,
    SEMESTER,
    RESULTAT_ID,
    VITNEMAL_ID,
    VITNEMAL_DATO,
    WITHDRAWAL,
)

_NOT_ECTS = (
    "vocational.ects_not_allowed",
    "fagskole courses carry fagskolepoeng, which are not ECTS credits; give them in fagskolepoeng",
)
_NOT_SCHOOL = (
    "vocational.school_field",
    "fagkode and vurderingstype belong to grunnopplæring (the primary sector), not to fagskole results",
)
REFUSED: dict[str, tuple[str, str]] = {
    "studiepoeng": _NOT_ECTS,
    "ects": _NOT_ECTS,
    "fagkode": _NOT_SCHOOL,
    "vurderingstype": _NOT_SCHOOL,
}


def course_grade(raw: str) -> GradeIn:
    """A–F or bestått/ikke bestått; a school grade here is a rejection that says so."""
    for scheme in (GradeScheme.A_F, GradeScheme.PASS_FAIL):
        try:
            return GradeIn(scheme, normalize_grade(scheme, raw).value)
        except UnknownGrade:
            continue
    value = raw.strip()
    for scheme, reason in (
        (GradeScheme.NUMERIC_1_6, "1–6 grades belong to grunnopplæring"),
        (GradeScheme.CONDUCT, "G, NG and LG are orden and atferd grades of grunnopplæring"),
        (GradeScheme.TRADE, "bestått meget godt is a fag-/svennebrev result"),
    ):
        try:
            normalize_grade(scheme, value)
        except UnknownGrade:
            continue
        raise RowRejected(
            "grade.wrong_scale",
            f"{reason}; a fagskole course is graded A–F or bestått/ikke bestått",
            KARAKTER.name,
        )
    raise RowRejected(
        "grade.invalid",
        f"{value!r} is not A–F, bestått or ikke bestått (the fagskole grade scales)",
        KARAKTER.name,
    )


class VocationalRows(RowImporter):
    sectors: ClassVar[frozenset[Sector]] = frozenset({Sector.VOCATIONAL})
    columns: ClassVar[tuple[Column[Any], ...]] = COLUMNS
    refused: ClassVar[dict[str, tuple[str, str]]] = REFUSED
    markers: ClassVar[frozenset[str]] = frozenset({EMNEKODE.name, FAGSKOLEPOENG.name})

    def records(self, row: Row, documents: DocumentMemory) -> Iterator[AchievementRecord]:
        nin = FODSELSNUMMER.need(row)
        orgnr = FAGSKOLE_ORGNR.need(row)
        fagskole = OrgRef("orgnr", orgnr)
        person = PersonIn(
            (IdentifierIn("nin", nin),), given_name=FORNAVN.get(row), family_name=ETTERNAVN.get(row)
        )
        utdanning_kode = UTDANNING_KODE.need(row)
        utdanning_navn = UTDANNING_NAVN.need(row)
        nkr = NKR_NIVA.need(row)
        eqf = NKR_TO_EQF[nkr]
        programme_credits = UTDANNING_FAGSKOLEPOENG.get(row)

        parent_key = None
        vitnemal_id = VITNEMAL_ID.get(row)
        if vitnemal_id is not None:
            issued = VITNEMAL_DATO.need(row, " with a vitnemal_id")
            fields = _vitnemal_fields(
                nin, orgnr, utdanning_kode, utdanning_navn, nkr, programme_credits, issued
            )
            is_new, conflict = documents.check(vitnemal_id, fields)
            if conflict is not None:
                raise RowRejected(
                    "vocational.document_conflict",
                    f"the row names vitnemål {vitnemal_id!r} with another {conflict} than its earlier rows",
                    conflict,
                )
            parent_key = f"vocational/vitnemal/{vitnemal_id}"
            if is_new:
                yield AchievementRecord(
                    ref=row.ref,
                    source_key=parent_key,
                    sector=Sector.VOCATIONAL,
                    kind=AchievementKind.DEGREE,
                    person=person,
                    awarding_org=fagskole,
                    specification=SpecificationIn(
                        kind=SpecificationKind.PROGRAMME,
                        title={"nb": utdanning_navn},
                        code=utdanning_kode,
                        code_scheme="fagskole-utdanning",
                        owner=fagskole,
                        credits=programme_credits,
                        credit_scheme=None if programme_credits is None else CreditScheme.FAGSKOLEPOENG,
                        nkr_level=nkr,
                        eqf_level=eqf,
                    ),
                    # The vitnemål carries no credits of its own: its courses do (never counted twice).
                    completed_on=issued,
                    year=issued.year,
                    details={"vitnemal_id": vitnemal_id},
                )

        emnekode = EMNEKODE.need(row)
        emnenavn = EMNENAVN.need(row)
        credits = FAGSKOLEPOENG.need(row)
        grade = course_grade(KARAKTER.need(row))
        completed = FULLFORT_DATO.need(row)
        term = SEMESTER.get(row)
        resultat_id = RESULTAT_ID.get(row)
        if resultat_id is not None:
            key = f"vocational/resultat/{resultat_id}"
        elif parent_key is not None:
            key = f"{parent_key}/{emnekode}"
        else:
            raise RowRejected(
                "field.missing",
                "resultat_id is required for a course result that belongs to no vitnemål (it is the result's key)",
                RESULTAT_ID.name,
            )
        passed = normalize_grade(grade.scheme, grade.value).passed
        status, reason = withdrawal(row)
        yield AchievementRecord(
            ref=row.ref,
            source_key=key,
            sector=Sector.VOCATIONAL,
            kind=AchievementKind.COURSE_RESULT,
            person=person,
            awarding_org=fagskole,
            specification=SpecificationIn(
                kind=SpecificationKind.COURSE,
                title={"nb": emnenavn},
                code=emnekode,
                code_scheme="fagskole-emne",
                owner=fagskole,
                credits=credits,
                credit_scheme=CreditScheme.FAGSKOLEPOENG,
                nkr_level=nkr,
                eqf_level=eqf,
            ),
            grade=grade,
            # Credits are awarded for a passed course only; the course's size stays on its specification.
            credits=credits if passed else None,
            credit_scheme=CreditScheme.FAGSKOLEPOENG if passed else None,
            completed_on=completed,
            year=completed.year,
            term=term,
            parent_key=parent_key,
            status=status,
            withdrawal_reason=reason,
            details={"utdanning_kode": utdanning_kode},
        )


def _vitnemal_fields(
    nin: str, orgnr: str, code: str, name: str, nkr: str, programme_credits: Decimal | None, issued: dt.date
) -> tuple[tuple[str, str | None], ...]:
    """What every row of one vitnemål must say alike (``DocumentMemory``)."""
    return (
        (FODSELSNUMMER.name, nin),
        (FAGSKOLE_ORGNR.name, orgnr),
        (UTDANNING_KODE.name, code),
        (UTDANNING_NAVN.name, name),
        (NKR_NIVA.name, nkr),
        (UTDANNING_FAGSKOLEPOENG.name, None if programme_credits is None else str(programme_credits)),
        (VITNEMAL_DATO.name, issued.isoformat()),
    )


class VocationalCsvImporter(VocationalRows):
    name: ClassVar[str] = "vocational-csv"
    kind: ClassVar[TableKind] = "csv"


class VocationalJsonImporter(VocationalRows):
    name: ClassVar[str] = "vocational-json"
    kind: ClassVar[TableKind] = "json"
