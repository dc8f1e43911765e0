"""Each rule of the primary row format, with a deliberately bad row, read through extract()."""

from __future__ import annotations

import io
import json

import pytest

from importers.base import HEAD_BYTES, ImportContext
from importers.primary.rows import COLUMNS, PrimaryCsvImporter, PrimaryJsonImporter
from intake.registry import choose
from register.grading import AchievementKind, GradeScheme
from register.records import AchievementRecord, RecordError
from register.sectors import Sector

SCHOOL = "946142263"
PUPIL = "24820684679"
NAMES = [c.name for c in COLUMNS]
BASE = {
    "fodselsnummer": PUPIL,
    "skole_orgnr": SCHOOL,
    "dokumenttype": "vitnemal",
    "dokument_id": "VM-1",
    "utstedt_dato": "2025-06-20",
    "skolear": "2024-2025",
    "fagkode": "NOR1211",
    "fagnavn": "Norsk",
    "vurderingstype": "standpunkt",
    "karakter": "5",
}


def csv_of(*rows: dict[str, str], extra: tuple[str, ...] = ()) -> bytes:
    names = NAMES + list(extra)
    lines = [";".join(names)] + [";".join(row.get(n, "") for n in names) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def extract(data: bytes, json_format: bool = False) -> list[object]:
    importer = PrimaryJsonImporter() if json_format else PrimaryCsvImporter()
    return list(importer.extract(io.BytesIO(data), ImportContext(Sector.PRIMARY, SCHOOL)))


def row(**changes: str) -> dict[str, str]:
    return {**BASE, **changes}


def only_error(items: list[object]) -> RecordError:
    errors = [i for i in items if isinstance(i, RecordError)]
    assert len(errors) == 1, errors
    return errors[0]


def records(items: list[object]) -> list[AchievementRecord]:
    return [i for i in items if isinstance(i, AchievementRecord)]


def test_a_vitnemal_is_one_document_with_its_subjects_as_children() -> None:
    items = extract(
        csv_of(
            row(),
            row(vurderingstype="Skriftlig eksamen", karakter="4", vurderingsdato="22.05.2025"),
            row(fagkode="", fagnavn="", vurderingstype="orden", karakter="g"),
            row(fagkode="MAT1019", fagnavn="Matematikk", karakter="ikke bestått"),
        )
    )
    got = records(items)
    assert [(r.ref, r.kind, r.source_key, r.parent_key) for r in got] == [
        ("row 1", AchievementKind.DIPLOMA, "primary/VM-1", None),
        ("row 1", AchievementKind.SUBJECT_GRADE, "primary/VM-1/NOR1211/standpunkt", "primary/VM-1"),
        ("row 2", AchievementKind.EXAM, "primary/VM-1/NOR1211/skriftlig_eksamen", "primary/VM-1"),
        ("row 3", AchievementKind.SUBJECT_GRADE, "primary/VM-1/orden", "primary/VM-1"),
        ("row 4", AchievementKind.SUBJECT_GRADE, "primary/VM-1/MAT1019/standpunkt", "primary/VM-1"),
    ]
    assert [(r.grade.scheme, r.grade.value) for r in got[1:] if r.grade] == [
        (GradeScheme.NUMERIC_1_6, "5"),
        (GradeScheme.NUMERIC_1_6, "4"),
        (GradeScheme.CONDUCT, "G"),
        (GradeScheme.PASS_FAIL, "ikke bestått"),
    ]
    assert str(got[2].completed_on) == "2025-05-22"  # vurderingsdato, else the document's issue date
    assert str(got[1].completed_on) == "2025-06-20"
    assert (got[0].year, got[1].year, got[1].term) == (2025, 2025, "2024-2025")
    assert all(r.credits is None for r in got)


def test_the_same_rows_as_json_make_the_same_records() -> None:
    rows = [row(), row(fagkode="MAT1019", fagnavn="Matematikk", karakter="3")]
    as_json = [{**r, "karakter": int(r["karakter"])} for r in rows]
    from_csv = records(extract(csv_of(*rows)))
    from_json = records(extract(json.dumps(as_json).encode(), json_format=True))
    assert [r.content_hash() for r in from_csv] == [r.content_hash() for r in from_json]


@pytest.mark.parametrize(
    ("changes", "code", "column", "says"),
    [
        ({"karakter": "7"}, "grade.invalid", "karakter", "7 is not on the 1–6 scale"),
        ({"karakter": "0"}, "grade.invalid", "karakter", "1–6"),
        ({"karakter": "B"}, "grade.wrong_scale", "karakter", "A–F"),
        ({"karakter": "NG"}, "grade.wrong_scale", "karakter", "orden and atferd"),
        ({"karakter": "bestått meget godt"}, "grade.wrong_scale", "karakter", "fag-/svennebrev"),
        ({"fagkode": "", "fagnavn": "", "vurderingstype": "atferd", "karakter": "5"}, "grade.wrong_scale",
         "karakter", "G, NG or LG"),
        ({"fagkode": "", "fagnavn": "", "vurderingstype": "orden", "karakter": "B"}, "grade.wrong_scale",
         "karakter", "A–F"),
        ({"karakter": ""}, "field.missing", "karakter", "karakter"),
        ({"fagkode": "NOR121"}, "primary.fagkode", "fagkode", "three letters and four digits"),
        ({"fagkode": "1234NOR"}, "primary.fagkode", "fagkode", "NOR1211"),
        ({"fagkode": ""}, "field.missing", "fagkode", "fagkode"),
        ({"fagnavn": ""}, "field.missing", "fagnavn", "fagnavn"),
        ({"vurderingstype": "heldagsprøve"}, "primary.assessment_kind", "vurderingstype", "standpunkt"),
        ({"vurderingstype": "orden", "karakter": "G"}, "primary.fagkode_not_allowed", "fagkode", "orden"),
        ({"vurderingstype": "fagprøve", "karakter": "bestått"}, "primary.assessment_kind", "vurderingstype",
         "fagbrev"),
        ({"dokumenttype": "attest"}, "primary.document_type", "dokumenttype", "vitnemal"),
        ({"dokument_id": ""}, "field.missing", "dokument_id", "dokument_id"),
        ({"utstedt_dato": "2025-13-01"}, "date.invalid", "utstedt_dato", "calendar"),
        ({"utstedt_dato": "20/06/2025"}, "date.invalid", "utstedt_dato", "YYYY-MM-DD"),
        ({"skolear": "2024-2026"}, "primary.school_year", "skolear", "2024-2025"),
        ({"skolear": "2024"}, "primary.school_year", "skolear", "2024-2025"),
        ({"skole_orgnr": "946142264"}, "orgnr.invalid", "skole_orgnr", "mod-11"),
        ({"skole_orgnr": ""}, "field.missing", "skole_orgnr", "skole_nsr"),
        ({"fodselsnummer": "2482068467"}, "nin.format", "fodselsnummer", "11 digits"),
    ],
)  # fmt: skip
def test_a_row_breaking_a_rule_is_rejected_with_column_and_reason(
    changes: dict[str, str], code: str, column: str, says: str
) -> None:
    error = only_error(extract(csv_of(row(**changes))))
    assert (error.record, error.code, error.path) == ("row 1", code, column)
    assert says in error.message
    assert PUPIL not in error.message


def test_fagskolepoeng_on_a_primary_row_is_rejected() -> None:
    bad = {**row(), "fagskolepoeng": "10"}
    items = extract(csv_of(row(), bad, row(fagkode="ENG1007", fagnavn="Engelsk"), extra=("fagskolepoeng",)))
    error = only_error(items)
    assert (error.record, error.code, error.path) == ("row 2", "primary.credits_not_allowed", "fagskolepoeng")
    assert len(records(items)) == 3  # the document and both good subjects


def test_a_row_contradicting_its_document_is_rejected() -> None:
    items = extract(csv_of(row(), row(fagkode="MAT1019", fagnavn="Matematikk", utstedt_dato="2025-06-21")))
    error = only_error(items)
    assert (error.record, error.code, error.path) == ("row 2", "primary.document_conflict", "utstedt_dato")
    other_pupil = extract(csv_of(row(), row(fagkode="MAT1019", fodselsnummer="24890654459")))
    assert only_error(other_pupil).path == "fodselsnummer"


def test_a_document_is_made_once_even_when_its_rows_are_apart() -> None:
    items = extract(csv_of(row(), row(dokument_id="VM-2"), row(fagkode="MAT1019", fagnavn="Matematikk")))
    keys = [r.source_key for r in records(items)]
    assert keys.count("primary/VM-1") == 1 and keys.count("primary/VM-2") == 1


def test_a_document_is_made_even_when_its_first_subject_is_rejected() -> None:
    items = extract(csv_of(row(karakter="9"), row(fagkode="MAT1019", fagnavn="Matematikk")))
    assert [r.source_key for r in records(items)] == ["primary/VM-1", "primary/VM-1/MAT1019/standpunkt"]


TRADE = {
    "dokumenttype": "fagbrev",
    "dokument_id": "FB-1",
    "fagkode": "",
    "fagnavn": "",
    "vurderingstype": "fagprove",
    "karakter": "bestått",
    "larefag_kode": "ELELE3----",
    "larefag_navn": "Elektrikerfaget",
    "provefylke": "46",
}


def test_a_fagbrev_row_is_the_trade_certificate() -> None:
    [record] = records(extract(csv_of(row(**TRADE, vurderingsdato="2025-02-27"))))
    assert (record.kind, record.source_key, record.parent_key) == (
        AchievementKind.TRADE_CERTIFICATE, "primary/FB-1", None,
    )  # fmt: skip
    assert (record.grade and record.grade.scheme, record.specification.code) == (
        GradeScheme.TRADE,
        "ELELE3----",
    )
    assert record.details == {
        "vurderingstype": "fagprove", "dokumenttype": "fagbrev", "dokument_id": "FB-1", "provefylke": "46",
    }  # fmt: skip
    assert (record.specification.nkr_level, str(record.completed_on)) == ("4", "2025-02-27")


def test_a_failed_trade_test_on_a_kompetansebevis_for_fagopplaering_is_its_child() -> None:
    items = extract(
        csv_of(
            row(**{**TRADE, "dokumenttype": "Kompetansebevis for fagopplæring", "karakter": "ikke bestått"})
        )
    )
    got = records(items)
    assert [(r.kind, r.source_key, r.parent_key) for r in got] == [
        (AchievementKind.DIPLOMA, "primary/FB-1", None),
        (AchievementKind.TRADE_CERTIFICATE, "primary/FB-1/ELELE3----/fagprove", "primary/FB-1"),
    ]


@pytest.mark.parametrize(
    ("changes", "code", "column"),
    [
        ({"karakter": "5"}, "grade.wrong_scale", "karakter"),
        ({"karakter": "godkjent med ros"}, "grade.invalid", "karakter"),
        ({"vurderingstype": "svenneprove"}, "primary.assessment_kind", "vurderingstype"),
        ({"vurderingstype": "standpunkt", "fagkode": "NOR1211", "fagnavn": "Norsk"}, "primary.assessment_kind",
         "vurderingstype"),
        ({"larefag_kode": ""}, "field.missing", "larefag_kode"),
        ({"larefag_kode": "EL LE"}, "primary.trade_code", "larefag_kode"),
        ({"larefag_navn": ""}, "field.missing", "larefag_navn"),
        ({"provefylke": ""}, "field.missing", "provefylke"),
        ({"provefylke": "Vestland"}, "primary.county", "provefylke"),
        ({"fagkode": "NOR1211"}, "primary.fagkode_not_allowed", "fagkode"),
    ],
)  # fmt: skip
def test_trade_certificate_rules(changes: dict[str, str], code: str, column: str) -> None:
    error = only_error(extract(csv_of(row(**{**TRADE, **changes}))))
    assert (error.code, error.path) == (code, column)


def test_the_registry_picks_csv_and_json_and_claims_a_misencoded_file() -> None:
    data = csv_of(row())
    assert choose(Sector.PRIMARY, data[:HEAD_BYTES], "x.csv", None).name == "primary-csv"
    assert (
        choose(Sector.PRIMARY, data.decode().encode("utf-16")[:HEAD_BYTES], None, None).name == "primary-csv"
    )
    as_json = json.dumps([row()]).encode()
    assert choose(Sector.PRIMARY, as_json[:HEAD_BYTES], None, None).name == "primary-json"
    assert PrimaryCsvImporter().identify(b"<elmo/>", None, None) is False
    assert PrimaryJsonImporter().identify(b'[{"emnekode": "X"}]', None, None) is False
