"""The primary row formats end to end: through run_import into the real database."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from intake.batches import BatchReport, run_import
from register.settings import Settings
from tests.factories import create_organisation

PROJECT_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = PROJECT_ROOT / "docs" / "formats" / "examples"

# The organisations the documented examples name.
COUNTY = "957002013"
SCHOOL = "931946773"

HEADER = (
    "fodselsnummer;skole_orgnr;dokumenttype;dokument_id;utstedt_dato;skolear;fagkode;fagnavn;vurderingstype;"
    "karakter\n"
)
PUPIL = "24820684679"  # synthetic (month + 80)


@pytest.fixture
def county_and_school(db: Engine) -> tuple[str, str]:
    create_organisation(
        db, orgnr=SCHOOL, name="Eksempel videregående skole", kind="school", codes={"nsr": "NSR-4711"}
    )
    create_organisation(db, orgnr=COUNTY, name="Eksempel fylkeskommune", kind="county", delivers_for=[SCHOOL])
    return COUNTY, SCHOOL


def deliver(
    engine: Engine, settings: Settings, provider: str, content: bytes, filename: str = "d.csv"
) -> BatchReport:
    return run_import(
        engine,
        io.BytesIO(content),
        sector="primary",
        provider_orgnr=provider,
        filename=filename,
        settings=settings,
    )


def rows(*lines: str) -> bytes:
    return (HEADER + "".join(line + "\n" for line in lines)).encode()


def subject(grade: str = "5", *, doc: str = "VM-1", fagkode: str = "NOR1211", kind: str = "standpunkt",
            school: str = SCHOOL, issued: str = "2025-06-20", pupil: str = PUPIL) -> str:  # fmt: skip
    return f"{pupil};{school};vitnemal;{doc};{issued};2024-2025;{fagkode};Fag {fagkode};{kind};{grade}"


def query(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def test_documented_csv_example_imports(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    report = deliver(db, settings, COUNTY, (EXAMPLES / "primary.csv").read_bytes(), "primary.csv")
    assert report.failure is None and report.errors == []
    assert (report.status, report.format, report.rejected) == ("completed", "primary-csv", 0)
    # 12 rows make 14 records: each row its result, and the vitnemål and kompetansebevis a document each.
    assert report.accepted == 14
    kinds = dict(query(db, "SELECT kind, count(*) FROM achievement GROUP BY kind"))
    assert kinds == {"diploma": 2, "subject_grade": 7, "exam": 3, "trade_certificate": 2}
    # Every subject row of the vitnemål is part of it; the fagbrev stands alone.
    linked = query(
        db,
        """SELECT count(*) FROM achievement c JOIN achievement d ON d.id = c.part_of_id
           WHERE d.source_key = 'primary/VGS-2025-000117'""",
    )
    assert linked[0][0] == 8
    fagbrev = query(
        db,
        """SELECT a.grade_scheme, a.grade_value, a.grade_passed, a.details->>'provefylke', s.code, s.nkr_level,
                  a.part_of_id FROM achievement a JOIN learning_specification s ON s.id = a.specification_id
           WHERE a.source_key = 'primary/FB-2025-004411'""",
    )
    assert fagbrev == [("trade", "bestått meget godt", True, "46", "ELELE3----", "4", None)]
    document = query(
        db,
        """SELECT a.completed_on::text, s.kind, s.code FROM achievement a
           JOIN learning_specification s ON s.id = a.specification_id WHERE a.kind = 'diploma'
           AND a.source_key = 'primary/VGS-2025-000117'""",
    )
    assert document == [("2025-06-20", "document", "vitnemal")]
    exempt = query(
        db, "SELECT grade_value, grade_passed FROM achievement WHERE source_key LIKE '%/KRO1017/standpunkt'"
    )
    assert exempt == [("fritatt", None)]


def test_documented_json_example_imports(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    report = deliver(db, settings, SCHOOL, (EXAMPLES / "primary.json").read_bytes(), "primary.json")
    assert (report.status, report.format, report.accepted, report.rejected) == (
        "completed",
        "primary-json",
        4,
        0,
    )
    conduct = query(
        db,
        "SELECT grade_scheme, grade_value FROM achievement WHERE source_key = 'primary/GS-2025-000051/orden'",
    )
    assert conduct == [("conduct", "NG")]


def test_redelivery_is_a_no_op_and_a_corrected_grade_a_new_version(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    first = deliver(db, settings, COUNTY, rows(subject("4"), subject("3", fagkode="MAT1019")))
    assert (first.accepted, first.unchanged) == (3, 0)
    # The same rows in another file (a different byte stream: not caught as a duplicate file).
    again = deliver(db, settings, COUNTY, rows(subject("3", fagkode="MAT1019"), subject("4")) + b"\n")
    assert (again.status, again.accepted, again.unchanged, again.rejected) == ("completed", 0, 3, 0)
    corrected = deliver(db, settings, COUNTY, rows(subject("5"), subject("3", fagkode="MAT1019")))
    assert (corrected.accepted, corrected.unchanged) == (1, 2)
    current = query(
        db,
        "SELECT grade_value, version FROM achievement WHERE source_key = 'primary/VM-1/NOR1211/standpunkt'",
    )
    assert current == [("5", 2)]
    history = query(
        db,
        """SELECT v.version, v.content->>'grade_value' FROM achievement_version v
           JOIN achievement a ON a.id = v.achievement_id WHERE a.source_key = 'primary/VM-1/NOR1211/standpunkt'""",
    )
    assert history == [(1, "4")]


def test_a_bad_row_does_not_take_its_neighbours(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    report = deliver(
        db,
        settings,
        COUNTY,
        rows(subject("5"), subject("7", fagkode="MAT1019"), subject("4", fagkode="ENG1007")),
    )
    assert (report.accepted, report.rejected) == (3, 1)
    [error] = report.errors
    assert (error.record, error.path, error.code) == ("row 2", "karakter", "grade.invalid")
    assert "1–6" in error.message
    assert report.exit_code == 1


def test_a_school_unknown_to_the_register_is_rejected(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    unknown = "923410570"  # a valid organisasjonsnummer nobody registered
    report = deliver(db, settings, COUNTY, rows(subject("5", school=unknown)))
    assert report.accepted == 0
    assert {(e.record, e.code) for e in report.errors} == {("row 1", "organisation.unknown")}


def test_the_school_itself_may_deliver(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    report = deliver(db, settings, SCHOOL, rows(subject("5")))
    assert (report.accepted, report.rejected) == (2, 0)


def test_a_provider_not_registered_for_the_school_is_refused(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    other_county = create_organisation(db, name="Annen fylkeskommune", kind="county")
    report = deliver(db, settings, other_county, rows(subject("5")))
    assert report.accepted == 0
    assert {(e.record, e.code) for e in report.errors} == {("row 1", "organisation.not_authorised")}
    assert query(db, "SELECT count(*) FROM achievement")[0][0] == 0


def test_a_school_named_by_its_nsr_id(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    content = (
        "fodselsnummer;skole_nsr;dokumenttype;dokument_id;utstedt_dato;skolear;fagkode;fagnavn;vurderingstype;karakter\n"
        f"{PUPIL};NSR-4711;vitnemal;VM-9;2025-06-20;2024-2025;NOR1211;Norsk;standpunkt;4\n"
    ).encode()
    report = deliver(db, settings, COUNTY, content)
    assert (report.accepted, report.rejected) == (2, 0)
    assert query(
        db, "SELECT DISTINCT o.orgnr FROM achievement a JOIN organisation o ON o.id = a.awarding_org_id"
    ) == [(SCHOOL,)]


def test_an_unreadable_file_fails_whole_and_leaves_nothing(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    content = (
        rows(subject("5"), subject("4", fagkode="MAT1019")).decode().replace("Fag", "Fåg").encode("latin-1")
    )
    report = deliver(db, settings, COUNTY, content)
    assert report.status == "failed" and report.exit_code == 2
    assert report.failure is not None and report.failure.code == "encoding.not_utf8"
    assert "ISO-8859-1" in report.failure.message
    assert query(db, "SELECT count(*) FROM achievement")[0][0] == 0


def test_the_same_row_twice_in_one_file_keeps_the_first(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    report = deliver(db, settings, COUNTY, rows(subject("5"), subject("4")))
    assert (report.accepted, report.rejected) == (2, 1)
    [error] = report.errors
    assert (error.record, error.code) == ("row 2", "source_key.duplicate")
    assert query(db, "SELECT grade_value FROM achievement WHERE kind = 'subject_grade'") == [("5",)]


def test_a_pupil_is_one_person_across_documents_and_deliveries(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    deliver(db, settings, COUNTY, rows(subject("5", doc="VM-1")))
    deliver(db, settings, SCHOOL, rows(subject("4", doc="KB-7")))
    assert query(db, "SELECT count(DISTINCT person_id), count(*) FROM achievement") == [(1, 4)]


def test_a_row_with_a_reason_withdraws_its_result_and_a_later_row_restores_it(
    db: Engine, settings: Settings, county_and_school: tuple[str, str]
) -> None:
    header = HEADER.rstrip("\n") + ";trukket_arsak\n"
    deliver(db, settings, COUNTY, rows(subject("5"), subject("4", fagkode="MAT1019")))
    withdrawn = deliver(
        db, settings, COUNTY, (header + subject("5") + ";Karakter satt på feil elev\n").encode()
    )
    assert (withdrawn.accepted, withdrawn.unchanged, withdrawn.rejected) == (1, 1, 0)
    state = "SELECT status, withdrawal_reason, version FROM achievement WHERE source_key = 'primary/VM-1/NOR1211/standpunkt'"
    assert query(db, state) == [("withdrawn", "Karakter satt på feil elev", 2)]
    assert query(
        db, "SELECT status FROM achievement WHERE source_key = 'primary/VM-1/MAT1019/standpunkt'"
    ) == [("valid",)]
    restored = deliver(db, settings, COUNTY, rows(subject("5")))
    assert restored.accepted == 1
    assert query(db, state) == [("valid", None, 3)]
