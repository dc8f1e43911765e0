"""The register's row format for fagskoler: course (emne) results and the vitnemål they belong to.

One row is one course result of one student. A row that names a vitnemål (``vitnemal_id``) also makes,
the first time the file names it, the vitnemål record for the completed education (utdanning), and
the course becomes ``part_of`` it. Credits are fagskolepoeng (their own scheme, never ECTS); fagskole
education is at NKR level 5.1 or 5.2. Documented field by field in docs/formats/vocational.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from importers.tabular import (
    WITHDRAWAL_COLUMN,
    Column,
    DocumentMemory,
    Row,
    RowImporter,
    RowRejected,
    TableKind,
    date_field,
    nin_field,
    orgnr_field,
    required,
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

FODSELSNUMMER = "fodselsnummer"
FORNAVN = "fornavn"
ETTERNAVN = "etternavn"
FAGSKOLE_ORGNR = "fagskole_orgnr"
UTDANNING_KODE = "utdanning_kode"
UTDANNING_NAVN = "utdanning_navn"
NKR_NIVA = "nkr_niva"
UTDANNING_FAGSKOLEPOENG = "utdanning_fagskolepoeng"
EMNEKODE = "emnekode"
EMNENAVN = "emnenavn"
FAGSKOLEPOENG = "fagskolepoeng"
KARAKTER = "karakter"
FULLFORT_DATO = "fullfort_dato"
SEMESTER = "semester"
RESULTAT_ID = "resultat_id"
VITNEMAL_ID = "vitnemal_id"
VITNEMAL_DATO = "vitnemal_dato"
TRUKKET_ARSAK = WITHDRAWAL_COLUMN

COLUMNS: tuple[Column, ...] = (
    Column(FODSELSNUMMER, required=True),
    Column(FORNAVN),
    Column(ETTERNAVN),
    Column(FAGSKOLE_ORGNR, required=True),
    Column(UTDANNING_KODE, required=True),
    Column(UTDANNING_NAVN, required=True),
    Column(NKR_NIVA, required=True),
    Column(UTDANNING_FAGSKOLEPOENG),
    Column(EMNEKODE, required=True),
    Column(EMNENAVN, required=True),
    Column(FAGSKOLEPOENG, required=True),
    Column(KARAKTER, required=True),
    Column(FULLFORT_DATO, required=True),
    Column(SEMESTER),
    Column(RESULTAT_ID),
    Column(VITNEMAL_ID),
    Column(VITNEMAL_DATO),
    Column(TRUKKET_ARSAK),
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

FAGSKOLE_NKR_LEVELS = ("5.1", "5.2")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9ÆØÅæøå][A-Za-z0-9ÆØÅæøå._/-]{0,29}$")
SEMESTER_PATTERN = re.compile(r"^([0-9]{4})\s*([VH])$|^([VH])\s*([0-9]{4})$", re.IGNORECASE)


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
            KARAKTER,
        )
    raise RowRejected(
        "grade.invalid",
        f"{value!r} is not A–F, bestått or ikke bestått (the fagskole grade scales)",
        KARAKTER,
    )


def _code(row: Row, column: str) -> str:
    value = required(row, column)
    if not CODE_PATTERN.match(value):
        raise RowRejected(
            "vocational.code",
            f"{column} {value!r} is not a code (letters, digits, '.', '_', '/', '-'; ≤30)",
            column,
        )
    return value


def _credits(row: Row, column: str, *, needed: bool) -> Decimal | None:
    raw = row.get(column)
    if raw is None:
        if needed:
            raise RowRejected("field.missing", f"{column} is required but empty", column)
        return None
    try:
        return parse_credits(raw)
    except (ValueError, InvalidOperation):
        raise RowRejected(
            "credits.invalid", f"{column} {raw!r} is not a number of fagskolepoeng between 0 and 1000", column
        ) from None


def _semester(raw: str | None) -> str | None:
    """``2025V``, ``2025 H``, ``V2025`` → ``2025V``: one spelling, so a re-send in another is no change."""
    if raw is None:
        return None
    match = SEMESTER_PATTERN.match(raw.strip())
    if not match:
        raise RowRejected(
            "vocational.semester",
            f"semester {raw!r} is not a year and V (vår) or H (høst), e.g. 2025H",
            SEMESTER,
        )
    year = match.group(1) or match.group(4)
    half = (match.group(2) or match.group(3)).upper()
    return f"{year}{half}"


class VocationalRows(RowImporter):
    sectors: ClassVar[frozenset[Sector]] = frozenset({Sector.VOCATIONAL})
    columns: ClassVar[tuple[Column, ...]] = COLUMNS
    refused: ClassVar[dict[str, tuple[str, str]]] = REFUSED
    markers: ClassVar[frozenset[str]] = frozenset({EMNEKODE, FAGSKOLEPOENG})

    def records(self, row: Row, documents: DocumentMemory) -> Iterator[AchievementRecord]:
        nin = nin_field(row, FODSELSNUMMER)
        orgnr = orgnr_field(row, FAGSKOLE_ORGNR)
        if orgnr is None:
            raise RowRejected("field.missing", "fagskole_orgnr is required but empty", FAGSKOLE_ORGNR)
        fagskole = OrgRef("orgnr", orgnr)
        person = PersonIn(
            (IdentifierIn("nin", nin),), given_name=row.get(FORNAVN), family_name=row.get(ETTERNAVN)
        )
        utdanning_kode = _code(row, UTDANNING_KODE)
        utdanning_navn = required(row, UTDANNING_NAVN)
        nkr = required(row, NKR_NIVA).replace(",", ".")
        if nkr not in FAGSKOLE_NKR_LEVELS:
            raise RowRejected(
                "vocational.nkr_level",
                f"nkr_niva {nkr!r} is not a fagskole level; fagskole education is at NKR 5.1 or 5.2",
                NKR_NIVA,
            )
        eqf = NKR_TO_EQF[nkr]
        programme_credits = _credits(row, UTDANNING_FAGSKOLEPOENG, needed=False)

        parent_key = None
        vitnemal_id = row.get(VITNEMAL_ID)
        if vitnemal_id is not None:
            issued = date_field(row, VITNEMAL_DATO)
            if issued is None:
                raise RowRejected(
                    "field.missing", "vitnemal_dato is required with a vitnemal_id", VITNEMAL_DATO
                )
            fields = (
                (FODSELSNUMMER, nin),
                (FAGSKOLE_ORGNR, orgnr),
                (UTDANNING_KODE, utdanning_kode),
                (UTDANNING_NAVN, utdanning_navn),
                (NKR_NIVA, nkr),
                (UTDANNING_FAGSKOLEPOENG, None if programme_credits is None else str(programme_credits)),
                (VITNEMAL_DATO, issued.isoformat()),
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

        emnekode = _code(row, EMNEKODE)
        emnenavn = required(row, EMNENAVN)
        credits = _credits(row, FAGSKOLEPOENG, needed=True)
        grade = course_grade(required(row, KARAKTER))
        completed = date_field(row, FULLFORT_DATO)
        if completed is None:
            raise RowRejected("field.missing", "fullfort_dato is required but empty", FULLFORT_DATO)
        term = _semester(row.get(SEMESTER))
        resultat_id = row.get(RESULTAT_ID)
        if resultat_id is not None:
            key = f"vocational/resultat/{resultat_id}"
        elif parent_key is not None:
            key = f"{parent_key}/{emnekode}"
        else:
            raise RowRejected(
                "field.missing",
                "resultat_id is required for a course result that belongs to no vitnemål (it is the result's key)",
                RESULTAT_ID,
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


class VocationalCsvImporter(VocationalRows):
    name: ClassVar[str] = "vocational-csv"
    kind: ClassVar[TableKind] = "csv"


class VocationalJsonImporter(VocationalRows):
    name: ClassVar[str] = "vocational-json"
    kind: ClassVar[TableKind] = "json"
