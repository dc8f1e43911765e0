"""The vocational (fagskole) row formats: each rule with a bad row, and end to end through run_import."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from importers.base import HEAD_BYTES, ImportContext
from importers.vocational.rows import COLUMNS, VocationalCsvImporter, VocationalJsonImporter
from intake.batches import BatchReport, run_import
from intake.registry import choose
from register.grading import AchievementKind, CreditScheme, GradeScheme
from register.records import AchievementRecord, RecordError
from register.sectors import Sector
from register.settings import Settings
from tests.factories import create_organisation

PROJECT_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = PROJECT_ROOT / "docs" / "formats" / "examples"
FAGSKOLE = "965897976"  # the organisation the documented examples name
STUDENT = "24890654459"
NAMES = [c.name for c in COLUMNS]
BASE = {
    "fodselsnummer": STUDENT,
    "fagskole_orgnr": FAGSKOLE,
    "utdanning_kode": "ELKRAFT",
    "utdanning_navn": "Elkraft",
    "nkr_niva": "5.1",
    "utdanning_fagskolepoeng": "120",
    "emnekode": "EL-101",
    "emnenavn": "Elektrotekniske fag",
    "fagskolepoeng": "10",
    "karakter": "B",
    "fullfort_dato": "2023-12-15",
    "semester": "2023H",
    "vitnemal_id": "VM-1",
    "vitnemal_dato": "2025-06-16",
}


def row(**changes: str) -> dict[str, str]:
    return {**BASE, **changes}


def csv_of(*rows: dict[str, str], extra: tuple[str, ...] = ()) -> bytes:
    names = NAMES + list(extra)
    return (
        "\n".join([";".join(names)] + [";".join(r.get(n, "") for n in names) for r in rows]) + "\n"
    ).encode()


def extract(data: bytes, json_format: bool = False) -> list[object]:
    importer = VocationalJsonImporter() if json_format else VocationalCsvImporter()
    return list(importer.extract(io.BytesIO(data), ImportContext(Sector.VOCATIONAL, FAGSKOLE)))


def records(items: list[object]) -> list[AchievementRecord]:
    return [i for i in items if isinstance(i, AchievementRecord)]


def only_error(items: list[object]) -> RecordError:
    errors = [i for i in items if isinstance(i, RecordError)]
    assert len(errors) == 1, errors
    return errors[0]


def test_courses_of_a_vitnemal_are_its_children_in_fagskolepoeng() -> None:
    got = records(extract(csv_of(row(), row(emnekode="EL-102", emnenavn="Elkraftsystemer", karakter="F"))))
    assert [(r.kind, r.source_key, r.parent_key) for r in got] == [
        (AchievementKind.DEGREE, "vocational/vitnemal/VM-1", None),
        (AchievementKind.COURSE_RESULT, "vocational/vitnemal/VM-1/EL-101", "vocational/vitnemal/VM-1"),
        (AchievementKind.COURSE_RESULT, "vocational/vitnemal/VM-1/EL-102", "vocational/vitnemal/VM-1"),
    ]
    diploma, passed, failed = got
    assert (diploma.credits, diploma.specification.credits) == (None, Decimal("120"))
    assert diploma.specification.credit_scheme is CreditScheme.FAGSKOLEPOENG
    assert (diploma.specification.nkr_level, diploma.specification.eqf_level) == ("5.1", 5)
    assert (passed.credits, passed.credit_scheme) == (Decimal("10"), CreditScheme.FAGSKOLEPOENG)
    assert passed.specification.credit_scheme is CreditScheme.FAGSKOLEPOENG
    assert (failed.credits, failed.specification.credits) == (None, Decimal("10"))  # nothing awarded for an F
    assert {r.credit_scheme for r in got} <= {CreditScheme.FAGSKOLEPOENG, None}
    assert passed.grade is not None and (passed.grade.scheme, passed.grade.value) == (GradeScheme.A_F, "B")
    assert (passed.term, passed.year) == ("2023H", 2023)


def test_a_course_outside_a_vitnemal_is_keyed_by_its_result_id() -> None:
    [record] = records(extract(csv_of(row(vitnemal_id="", vitnemal_dato="", resultat_id="R-9"))))
    assert (record.source_key, record.parent_key) == ("vocational/resultat/R-9", None)
    error = only_error(extract(csv_of(row(vitnemal_id="", vitnemal_dato=""))))
    assert (error.code, error.path) == ("field.missing", "resultat_id")


@pytest.mark.parametrize(
    ("changes", "code", "column", "says"),
    [
        ({"karakter": "5"}, "grade.wrong_scale", "karakter", "grunnopplæring"),
        ({"karakter": "G"}, "grade.wrong_scale", "karakter", "orden"),
        ({"karakter": "7"}, "grade.invalid", "karakter", "A–F"),
        ({"karakter": "Fx"}, "grade.invalid", "karakter", "A–F"),
        ({"nkr_niva": "6"}, "vocational.nkr_level", "nkr_niva", "5.1 or 5.2"),
        ({"nkr_niva": "5"}, "vocational.nkr_level", "nkr_niva", "5.1 or 5.2"),
        ({"fagskolepoeng": ""}, "field.missing", "fagskolepoeng", "fagskolepoeng"),
        ({"fagskolepoeng": "ti"}, "credits.invalid", "fagskolepoeng", "fagskolepoeng"),
        ({"fagskolepoeng": "-5"}, "credits.invalid", "fagskolepoeng", "between 0 and 1000"),
        ({"fagskolepoeng": "1e9999"}, "credits.invalid", "fagskolepoeng", "between 0 and 1000"),
        ({"utdanning_fagskolepoeng": "NaN"}, "credits.invalid", "utdanning_fagskolepoeng", "fagskolepoeng"),
        ({"fullfort_dato": "2025-02-30"}, "date.invalid", "fullfort_dato", "calendar"),
        ({"vitnemal_dato": ""}, "field.missing", "vitnemal_dato", "vitnemal_id"),
        ({"semester": "vår"}, "vocational.semester", "semester", "2025H"),
        ({"emnekode": "EL 101"}, "vocational.code", "emnekode", "code"),
        ({"fagskole_orgnr": "941086030"}, "orgnr.invalid", "fagskole_orgnr", "mod-11"),
        ({"emnenavn": ""}, "field.missing", "emnenavn", "emnenavn"),
    ],
)
def test_a_row_breaking_a_rule_is_rejected(
    changes: dict[str, str], code: str, column: str, says: str
) -> None:
    error = only_error(extract(csv_of(row(**changes))))
    assert (error.record, error.code, error.path) == ("row 1", code, column)
    assert says in error.message


@pytest.mark.parametrize("column", ["studiepoeng", "ects"])
def test_ects_credits_are_refused(column: str) -> None:
    error = only_error(extract(csv_of({**row(), column: "10"}, extra=(column,))))
    assert (error.code, error.path) == ("vocational.ects_not_allowed", column)


def test_school_fields_are_refused() -> None:
    error = only_error(extract(csv_of({**row(), "fagkode": "NOR1211"}, extra=("fagkode",))))
    assert (error.code, error.path) == ("vocational.school_field", "fagkode")


def test_a_row_contradicting_its_vitnemal_is_rejected() -> None:
    items = extract(csv_of(row(), row(emnekode="EL-102", nkr_niva="5.2")))
    error = only_error(items)
    assert (error.record, error.code, error.path) == ("row 2", "vocational.document_conflict", "nkr_niva")


def test_semester_spellings_are_one() -> None:
    for spelling in ("2025V", "2025 v", "V2025"):
        [_, course] = records(extract(csv_of(row(semester=spelling))))
        assert course.term == "2025V"


def test_json_lines_and_csv_make_the_same_records() -> None:
    rows = [row(), row(emnekode="EL-102", fagskolepoeng="7,5")]
    as_json = [{**r, "fagskolepoeng": float(r["fagskolepoeng"].replace(",", "."))} for r in rows]
    lines = "\n".join(json.dumps(r) for r in as_json).encode()
    from_csv, from_json = records(extract(csv_of(*rows))), records(extract(lines, json_format=True))
    assert [r.content_hash() for r in from_csv] == [r.content_hash() for r in from_json]


def test_the_registry_picks_the_vocational_formats() -> None:
    data = csv_of(row())
    assert choose(Sector.VOCATIONAL, data[:HEAD_BYTES], None, None).name == "vocational-csv"
    lines = json.dumps(row()).encode()
    assert choose(Sector.VOCATIONAL, lines[:HEAD_BYTES], None, None).name == "vocational-json"


# --- end to end ----------------------------------------------------------------------------------


@pytest.fixture
def fagskole(db: Engine) -> str:
    return create_organisation(db, orgnr=FAGSKOLE, name="Eksempel fagskole", kind="fagskole")


def deliver(
    engine: Engine, settings: Settings, provider: str, content: bytes, name: str = "d.csv"
) -> BatchReport:
    return run_import(
        engine,
        io.BytesIO(content),
        sector="vocational",
        provider_orgnr=provider,
        filename=name,
        settings=settings,
    )


def query(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def test_documented_examples_import(db: Engine, settings: Settings, fagskole: str) -> None:
    report = deliver(db, settings, FAGSKOLE, (EXAMPLES / "vocational.csv").read_bytes(), "vocational.csv")
    assert (report.status, report.format, report.accepted, report.rejected) == (
        "completed",
        "vocational-csv",
        6,
        0,
    )
    report = deliver(db, settings, FAGSKOLE, (EXAMPLES / "vocational.jsonl").read_bytes(), "vocational.jsonl")
    assert (report.status, report.format, report.accepted, report.rejected) == (
        "completed",
        "vocational-json",
        2,
        0,
    )
    # Fagskolepoeng stay their own scheme: nothing in the register became ECTS.
    schemes = query(db, "SELECT DISTINCT credit_scheme FROM achievement WHERE credit_scheme IS NOT NULL")
    assert schemes == [("fagskolepoeng",)]
    totals = query(
        db,
        """SELECT sum(c.credits) FROM achievement c JOIN achievement d ON d.id = c.part_of_id
           WHERE d.source_key = 'vocational/vitnemal/FS-VM-2025-0042'""",
    )
    assert totals == [(Decimal("80"),)]


def test_redelivery_is_a_no_op_and_a_corrected_grade_a_new_version(
    db: Engine, settings: Settings, fagskole: str
) -> None:
    assert deliver(db, settings, FAGSKOLE, csv_of(row())).accepted == 2
    again = deliver(db, settings, FAGSKOLE, csv_of(row()) + b"\n")
    assert (again.accepted, again.unchanged) == (0, 2)
    corrected = deliver(db, settings, FAGSKOLE, csv_of(row(karakter="A")))
    assert (corrected.accepted, corrected.unchanged) == (1, 1)
    assert query(db, "SELECT grade_value, version FROM achievement WHERE kind = 'course_result'") == [
        ("A", 2)
    ]


def test_only_the_fagskole_or_its_deliverer_may_deliver(
    db: Engine, settings: Settings, fagskole: str
) -> None:
    stranger = create_organisation(db, name="Annen fagskole", kind="fagskole")
    report = deliver(db, settings, stranger, csv_of(row()))
    assert report.accepted == 0
    assert {(e.record, e.code) for e in report.errors} == {("row 1", "organisation.not_authorised")}
    owner = create_organisation(db, name="Fylkeskommunen som eier", kind="county", delivers_for=[FAGSKOLE])
    assert deliver(db, settings, owner, csv_of(row())).accepted == 2


def test_an_unknown_fagskole_is_rejected(db: Engine, settings: Settings, fagskole: str) -> None:
    report = deliver(db, settings, FAGSKOLE, csv_of(row(fagskole_orgnr="923410570")))
    assert report.accepted == 0
    assert {e.code for e in report.errors} == {"organisation.unknown"}


def test_a_reason_withdraws_the_course_result_only() -> None:
    diploma, course = records(extract(csv_of(row(trukket_arsak="Eksamen annullert"))))
    assert (diploma.status, course.status, course.withdrawal_reason) == (
        "valid",
        "withdrawn",
        "Eksamen annullert",
    )
