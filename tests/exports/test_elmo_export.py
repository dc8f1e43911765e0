"""ELMO export: valid v1.7.0 for every imported person, all sectors, round trip, signature."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

import pytest
from lxml import etree
from signxml import XMLVerifier
from sqlalchemy import Engine, text
from typer.testing import CliRunner

import intake.batches
from cli.main import app
from demo.higher import elmo_document, institutions, random_transcript
from importers.base import ImportContext, Item
from intake.batches import run_import
from register.database import get_engine
from register.errors import InvalidInput, NotFound
from register.exports.elmo import ELMO_NS, export_person_elmo
from register.grading import AchievementKind, CreditScheme, GradeScheme, SpecificationKind
from register.records import AchievementRecord, GradeIn, IdentifierIn, OrgRef, PersonIn, SpecificationIn
from register.sectors import Sector
from register.settings import Settings, get_settings
from register.synthetic import synthetic_person
from tests.conftest import FORMATS_DIR
from tests.exports.elmo_schema import schema_errors
from tests.factories import create_organisation, new_nin
from tests.importers.higher.helpers import extract, signing_identity

EXAMPLES = FORMATS_DIR / "elmo" / "examples"
E = f"{{{ELMO_NS}}}"


def person_ids(db: Engine) -> list[uuid.UUID]:
    with db.connect() as conn:
        return list(conn.execute(text("SELECT id FROM person ORDER BY created_at, id")).scalars())


def export(db: Engine, person_id: uuid.UUID, *, sign: bool = False) -> bytes:
    with db.begin() as conn:
        return export_person_elmo(conn, person_id, sign=sign).document


def summary(records: list[AchievementRecord]) -> list[tuple[Any, ...]]:
    """What must survive a round trip: the learning opportunity, its place in the tree, credits, grade."""
    by_key = {r.source_key: r for r in records}

    def code(record: AchievementRecord | None) -> Any:
        return (
            None
            if record is None
            else (record.specification.code, tuple(sorted(record.specification.title.items())))
        )

    rows = [
        (
            code(r),
            code(by_key.get(r.parent_key or "")),
            r.kind.value,
            r.credits,
            r.credit_scheme,
            # known scales are stored in their canonical spelling ("Bestått" → "bestått")
            r.grade and (r.grade.scheme, r.grade.value.casefold(), r.grade.passed),
            r.completed_on,
            r.specification.eqf_level,
            r.specification.nus_code,
            r.specification.iscedf_code,
        )
        for r in records
    ]
    return sorted(rows, key=repr)


def test_round_trip_of_the_official_example(db: Engine, settings: Settings) -> None:
    original = (EXAMPLES / "elmo-v1.7.0-example.xml").read_bytes()
    # Registered with its own country: exported as NO, its letter grades came back on the Norwegian scale.
    provider = create_organisation(db, name="Uniwersytet Warszawski", kind="university", country="PL",
                                   codes={"erasmus": "PL WARSZAW01", "pic": "999572294", "schac": "uw.edu.pl"})  # fmt: skip
    report = run_import(db, io.BytesIO(original), sector="higher", provider_orgnr=provider, settings=settings)
    assert (report.accepted, report.rejected) == (6, 0)
    [person_id] = person_ids(db)
    exported = export(db, person_id)
    assert schema_errors(exported) == []
    again = extract(exported)
    assert again.errors == []
    assert summary(again.records) == summary(extract(original).records)
    assert again.records[0].person.identifiers == extract(original).records[0].person.identifiers


def test_round_trip_of_the_sikt_sample_with_a_valid_national_id(db: Engine, settings: Settings) -> None:
    nin = new_nin()
    original = (
        (EXAMPLES / "sikt-vitnemalsportalen-sample.xml").read_bytes().replace(b"12345678910", nin.encode())
    )
    provider = create_organisation(db, name="Universitetet i Oslo", kind="university", codes={"fs": "185"})
    report = run_import(db, io.BytesIO(original), sector="higher", provider_orgnr=provider, settings=settings)
    assert (report.accepted, report.rejected) == (2, 0)
    exported = export(db, person_ids(db)[0])
    assert schema_errors(exported) == []
    assert summary(extract(exported).records) == summary(extract(original).records)
    root = etree.fromstring(exported)
    assert root.findtext(f"{E}learner/{E}identifier[@type='nationalIdentifier']") == nin
    descriptions = root.findall(f"{E}report/{E}gradingScheme/{E}description")
    assert any("A – Excellent" in (d.text or "") for d in descriptions)


def test_every_demo_student_exports_valid_elmo(db: Engine, settings: Settings) -> None:
    rng = random.Random(21)
    for institution in institutions(rng):
        provider = create_organisation(db, orgnr=institution.orgnr, name=institution.name_nb,
                                       kind="fagskole" if institution.sector == "vocational" else "university",
                                       codes={"fs": institution.fs, "schac": institution.schac})  # fmt: skip
        for _ in range(3):
            transcript = random_transcript(rng, institution, synthetic_person(rng, 1992))
            run_import(db, io.BytesIO(elmo_document(transcript)), sector=institution.sector,
                       provider_orgnr=provider, settings=settings)  # fmt: skip
    people = person_ids(db)
    assert len(people) == 9
    for person_id in people:
        assert schema_errors(export(db, person_id)) == []


# --- all sectors -------------------------------------------------------------------------------------


class FixedRecords:
    """A test importer that yields the records it is given (other sectors' importers are not under test)."""

    name: ClassVar[str] = "test-fixed-records"
    sectors: ClassVar[frozenset[Sector]] = frozenset(Sector)
    field_names: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(self, records: list[AchievementRecord]) -> None:
        self.records = records

    def identify(self, head: bytes, filename: str | None, content_type: str | None) -> bool:
        return True

    def extract(self, source: BinaryIO, context: ImportContext) -> Iterator[Item]:
        yield from self.records


def _record(person: PersonIn, org: str, key: str, kind: AchievementKind, spec_kind: SpecificationKind, title: str,
            *, code: str, sector: Sector, grade: GradeIn | None = None, parent: str | None = None,
            credits: str | None = None, scheme: CreditScheme | None = None, nkr: str | None = None,
            eqf: int | None = None, status: str = "valid") -> AchievementRecord:  # fmt: skip
    return AchievementRecord(
        ref=key, source_key=key, sector=sector, kind=kind, person=person, awarding_org=OrgRef("orgnr", org),
        specification=SpecificationIn(kind=spec_kind, title={"nb": title}, code=code, code_scheme="udir",
                                      nkr_level=nkr, eqf_level=eqf),
        grade=grade, credits=Decimal(credits) if credits else None, credit_scheme=scheme if credits else None,
        parent_key=parent, status=status, withdrawal_reason="feilregistrert" if status == "withdrawn" else None,
    )  # fmt: skip


def test_export_covers_every_sector(db: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    nin = new_nin()
    person = PersonIn(identifiers=(IdentifierIn("nin", nin),), given_name="Ingrid", family_name="Berg")
    school = create_organisation(db, name="Nordby videregående skole", kind="school")
    fagskole = create_organisation(db, name="Fagskolen i Innlandet", kind="fagskole")
    academy = create_organisation(db, name="Kursakademiet", kind="course_provider")
    university = create_organisation(
        db, name="Universitetet i Nordvik", kind="university", codes={"fs": "9101"}
    )
    grade = GradeIn
    deliveries = [
        (school, Sector.PRIMARY, [
            _record(person, school, "vm", AchievementKind.DIPLOMA, SpecificationKind.DOCUMENT, "Vitnemål",
                    code="VM-SF", sector=Sector.PRIMARY, nkr="4", eqf=4),
            _record(person, school, "nor", AchievementKind.SUBJECT_GRADE, SpecificationKind.SUBJECT,
                    "Norsk hovedmål", code="NOR1211", sector=Sector.PRIMARY, parent="vm",
                    grade=grade(GradeScheme.NUMERIC_1_6, "5")),
            _record(person, school, "orden", AchievementKind.SUBJECT_GRADE, SpecificationKind.SUBJECT, "Orden",
                    code="ORD", sector=Sector.PRIMARY, parent="vm", grade=grade(GradeScheme.CONDUCT, "G")),
            _record(person, school, "gone", AchievementKind.SUBJECT_GRADE, SpecificationKind.SUBJECT,
                    "Feilført fag", code="XXX", sector=Sector.PRIMARY, parent="vm",
                    grade=grade(GradeScheme.NUMERIC_1_6, "2"), status="withdrawn"),
        ]),
        (fagskole, Sector.VOCATIONAL, [
            _record(person, fagskole, "dipl", AchievementKind.DIPLOMA, SpecificationKind.DOCUMENT,
                    "Fagskoleutdanning i elkraft", code="FAGEL", sector=Sector.VOCATIONAL, credits="60",
                    scheme=CreditScheme.FAGSKOLEPOENG, nkr="5.1"),
            # Both carry credits: the export must still count them once.
            _record(person, fagskole, "elk", AchievementKind.COURSE_RESULT, SpecificationKind.COURSE,
                    "Elektrotekniske fag", code="ELK101", sector=Sector.VOCATIONAL, parent="dipl", credits="15",
                    scheme=CreditScheme.FAGSKOLEPOENG, grade=grade(GradeScheme.A_F, "B")),
        ]),
        (academy, Sector.MICRO, [
            _record(person, academy, "mc", AchievementKind.MICRO_CREDENTIAL, SpecificationKind.MICRO_CREDENTIAL,
                    "Grunnleggende datasikkerhet", code="MC-SEC", sector=Sector.MICRO, credits="2",
                    scheme=CreditScheme.ECTS, eqf=5, grade=grade(GradeScheme.PASS_FAIL, "bestått")),
        ]),
    ]  # fmt: skip
    for provider, sector, records in deliveries:
        monkeypatch.setattr(intake.batches, "choose", lambda *args, r=records: FixedRecords(r))
        report = run_import(
            db, io.BytesIO(b"x"), sector=sector.value, provider_orgnr=provider, settings=settings
        )
        assert report.rejected == 0, report.errors
    monkeypatch.undo()
    rng = random.Random(4)
    nordvik = institutions(rng)[0]
    transcript = random_transcript(rng, nordvik, synthetic_person(rng, 1990))
    transcript.person = type(transcript.person)(nin, "Ingrid", "Berg", 1990)
    run_import(db, io.BytesIO(elmo_document(transcript)), sector="higher", provider_orgnr=university,
               settings=settings)  # fmt: skip
    with db.begin() as conn:
        conn.execute(text("UPDATE achievement SET status = 'withdrawn', withdrawal_reason = 'feil'"
                          " WHERE source_key = 'gone'"))  # fmt: skip

    [person_id] = person_ids(db)
    exported = export(db, person_id)
    assert schema_errors(exported) == []
    root = etree.fromstring(exported)
    reports = root.findall(f"{E}report")
    assert len(reports) == 4  # one per awarding organisation
    by_issuer = {r.findtext(f"{E}issuer/{E}title"): r for r in reports}
    vitnemal = by_issuer["Nordby videregående skole"].find(f"{E}learningOpportunitySpecification")
    assert vitnemal is not None and vitnemal.findtext(f"{E}title") == "Vitnemål"
    subjects = vitnemal.findall(f"{E}hasPart/{E}learningOpportunitySpecification")
    assert sorted(s.findtext(f"{E}title") or "" for s in subjects) == [
        "Norsk hovedmål",
        "Orden",
    ]  # withdrawn left out
    assert sorted(s.findtext(f".//{E}resultLabel") or "" for s in subjects) == ["5", "G"]
    fag = by_issuer["Fagskolen i Innlandet"]
    credits = [(c.findtext(f"{E}scheme"), c.findtext(f"{E}value")) for c in fag.iter(f"{E}credit")]
    assert credits == [("fagskolepoeng", "60")]  # the course's 15 are part of the diploma's 60
    levels = {(lv.findtext(f"{E}type"), lv.findtext(f"{E}value")) for lv in fag.iter(f"{E}level")}
    assert ("NQF", "5.1") in levels and ("EQF", "5") in levels
    micro = by_issuer["Kursakademiet"].find(f"{E}learningOpportunitySpecification")
    assert micro is not None and micro.find(f"{E}type") is None  # no ELMO type fits a micro-credential
    degree = by_issuer["Universitetet i Nordvik"].find(f"{E}learningOpportunitySpecification")
    assert degree is not None and degree.findtext(f"{E}type") == "Degree Programme"
    assert len(degree.findall(f"{E}hasPart")) == len(transcript.results[0].parts)
    local_ids = {g.get("localId") for g in root.iter(f"{E}gradingScheme")}
    assert {"no-1-6", "conduct", "a-f", "pass-fail"} <= local_ids


# --- signing ---------------------------------------------------------------------------------------


@pytest.fixture
def imported_person(db: Engine, settings: Settings) -> uuid.UUID:
    rng = random.Random(8)
    nordvik = institutions(rng)[0]
    provider = create_organisation(db, orgnr=nordvik.orgnr, name=nordvik.name_nb, kind="university",
                                   codes={"fs": nordvik.fs})  # fmt: skip
    transcript = random_transcript(rng, nordvik, synthetic_person(rng, 1993))
    run_import(
        db, io.BytesIO(elmo_document(transcript)), sector="higher", provider_orgnr=provider, settings=settings
    )
    return person_ids(db)[0]


@pytest.fixture
def signing_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[bytes]:
    identity = signing_identity(common_name="Kompetanseregisteret (test)")
    (tmp_path / "key.pem").write_bytes(identity.key_pem)
    (tmp_path / "cert.pem").write_bytes(identity.cert_pem)
    monkeypatch.setenv("REGISTER_ELMO_SIGNING_KEY_PATH", str(tmp_path / "key.pem"))
    monkeypatch.setenv("REGISTER_ELMO_SIGNING_CERT_PATH", str(tmp_path / "cert.pem"))
    get_settings.cache_clear()
    yield identity.cert_pem
    monkeypatch.undo()
    get_settings.cache_clear()


def test_signed_export_verifies(db: Engine, imported_person: uuid.UUID, signing_settings: bytes) -> None:
    signed = export(db, imported_person, sign=True)
    assert schema_errors(signed) == []
    root = etree.fromstring(signed)
    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    [reference] = root.findall(f"{ds}Signature/{ds}SignedInfo/{ds}Reference")
    assert reference.get("URI") == ""
    method = root.find(f"{ds}Signature/{ds}SignedInfo/{ds}SignatureMethod")
    assert (
        method is not None and method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    XMLVerifier().verify(signed, x509_cert=signing_settings.decode())
    # And the register's own importer calls it valid.
    assert extract(signed).facts.details["signature"]["status"] == "valid"
    tampered = signed.replace(b"<resultLabel>", b"<resultLabel>A", 1)
    assert extract(tampered).facts.details["signature"]["status"] == "invalid"


def test_signing_without_a_configured_key_is_a_clear_error_in_production(
    db: Engine, imported_person: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Production makes no key of its own (development does: tests/exports/test_elmo_signing.py).
    for name, value in {
        "REGISTER_ENVIRONMENT": "production",
        "REGISTER_ALLOW_SYNTHETIC_IDS": "false",
        "REGISTER_JWT_ISSUERS": '["https://maskinporten.example/"]',
        "REGISTER_JWKS_FILES": '["/dev/null"]',
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(InvalidInput) as caught:
            export(db, imported_person, sign=True)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert caught.value.code == "elmo.signing_not_configured"


def test_person_without_results(db: Engine) -> None:
    with pytest.raises(NotFound) as caught:
        export(db, uuid.uuid4())
    assert caught.value.code == "person.not_found"


def test_cli_export_to_a_file(db: Engine, imported_person: uuid.UUID, tmp_path: Path) -> None:
    with db.connect() as conn:
        nin = conn.execute(text("SELECT value FROM person_identifier WHERE person_id = :p"),
                           {"p": imported_person}).scalar_one()  # fmt: skip
    get_engine.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["export", "elmo", "--nin-file", "-", "-o", str(tmp_path / "out.xml")], input=nin + "\n"
        )
    finally:
        get_engine().dispose()
        get_engine.cache_clear()
    assert result.exit_code == 0, result.output
    assert schema_errors((tmp_path / "out.xml").read_bytes()) == []
    with db.connect() as conn:
        action = conn.execute(text("SELECT action FROM audit_event WHERE person_id = :p"),
                              {"p": imported_person}).scalar_one()  # fmt: skip
    assert action == "export.elmo"


def test_cli_export_reads_the_national_id_from_a_file_never_from_the_arguments(
    db: Engine, imported_person: uuid.UUID, tmp_path: Path
) -> None:
    """``register export elmo <nin>`` put the national id into the shell history and the process list."""
    with db.connect() as conn:
        nin = conn.execute(text("SELECT value FROM person_identifier WHERE person_id = :p"),
                           {"p": imported_person}).scalar_one()  # fmt: skip
    nin_file = tmp_path / "nin.txt"
    nin_file.write_text(f"{nin}\n")
    get_engine.cache_clear()
    try:
        from_file = CliRunner().invoke(app, ["export", "elmo", "--nin-file", str(nin_file)])
        as_argument = CliRunner().invoke(app, ["export", "elmo", nin, "-o", str(tmp_path / "x.xml")])
        empty = CliRunner().invoke(app, ["export", "elmo", "--nin-file", "-"], input="\n")
    finally:
        get_engine().dispose()
        get_engine.cache_clear()
    assert from_file.exit_code == 0, from_file.output
    assert schema_errors(from_file.stdout_bytes) == []
    assert as_argument.exit_code == 2 and "cli.nin_in_arguments" in as_argument.stderr
    assert nin not in as_argument.output and not (tmp_path / "x.xml").exists()
    assert empty.exit_code == 2 and "cli.nin_file" in empty.stderr
