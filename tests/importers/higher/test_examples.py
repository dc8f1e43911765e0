"""Every real ELMO example (tests/fixtures/formats/elmo): imported with counts that match the document, or rejected with the cause.

Counts are taken from the document itself (its learningOpportunitySpecification elements, read with
lxml here), not from the importer, so a lost or invented record fails the test.
"""

from __future__ import annotations

import base64
import gzip
import io

import pytest
from lxml import etree
from sqlalchemy import Engine, text

from importers.higher.elmo import ELMO_NS, LEGACY_NS
from intake.batches import run_import
from register.grading import AchievementKind, GradeScheme
from register.organisations import add_organisation
from register.settings import Settings
from tests.conftest import FORMATS_DIR
from tests.factories import create_organisation
from tests.importers.examples import EXPECTED_SUFFIX
from tests.importers.higher.helpers import extract

EXAMPLES = FORMATS_DIR / "elmo" / "examples"


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def xml_of(name: str) -> bytes:
    data = example(name)
    if name.endswith(".gz.b64"):
        return gzip.decompress(base64.b64decode(data))
    if name.endswith(".b64"):
        return base64.b64decode(data)
    return data


def los_count(name: str) -> int:
    root = etree.fromstring(xml_of(name), etree.XMLParser(resolve_entities=False, no_network=True))
    return sum(
        len(root.findall(f".//{{{ns}}}learningOpportunitySpecification")) for ns in (ELMO_NS, LEGACY_NS)
    )


def test_every_example_has_a_test() -> None:
    examples = [p.name for p in EXAMPLES.iterdir() if not p.name.endswith(EXPECTED_SUFFIX)]
    assert sorted(examples) == sorted([*IMPORTED, *REJECTED_BY_IMPORTER, *REJECTED_BY_INGEST])


# example → (issuer code the provider is registered with, records accepted)
IMPORTED = {
    # Official v1.7.0 example: degree with a course, a course with two classes, a course without identifier.
    "elmo-v1.7.0-example.xml": ("erasmus", "PL WARSZAW01"),
    # ELMO embedded in an EWP transcript-of-records response.
    "ewp-tor-get-response.xml": ("erasmus", "PL WARSZAW01"),
    # Swedish Ladok 1.0: no citizenship, so the personnummer is read as the Swedish issuer's number.
    "se-ladok-1.0.xml": ("erasmus", "S UMEA01"),
}
# example → the code every learning opportunity is rejected with, by the importer
REJECTED_BY_IMPORTER = {
    "fi-ncp-my-elmo.xml": "elmo.issuer_unidentified",  # issuer identifier type "TODO: identifier type…"
    "dk-stads-unsigned.xml": "elmo.issuer_unidentified",  # issuer local id "TODO : Issuer ID unknown"
    "dk-stads-signed.gz.b64": "elmo.issuer_unidentified",
}
# example → the code the ingest rejects every learning opportunity with (read fine, person invalid)
REJECTED_BY_INGEST = {
    "sikt-vitnemalsportalen-sample.xml": "nin.date_part",  # learner 12345678910: month 34 is no number kind
    "sikt-vitnemalsportalen-sample.b64": "nin.date_part",
    "legacy-purl-namespace.xml": "nin.format",  # legacy namespace maps; its learner id has 10 digits
}


@pytest.mark.parametrize("name", sorted(IMPORTED) + sorted(REJECTED_BY_INGEST))
def test_examples_read_one_record_per_learning_opportunity(name: str) -> None:
    result = extract(example(name))
    assert result.errors == []
    assert len(result.records) == los_count(name) > 0


@pytest.mark.parametrize("name", sorted(REJECTED_BY_IMPORTER))
def test_examples_without_a_usable_issuer_are_rejected_per_record(name: str) -> None:
    result = extract(example(name))
    assert result.records == []
    assert len(result.errors) == los_count(name) > 0
    assert {e.code for e in result.errors} == {REJECTED_BY_IMPORTER[name]}
    assert all("issuer" in e.message for e in result.errors)


def test_official_example_mapping() -> None:
    result = extract(example("elmo-v1.7.0-example.xml"))
    degree, external, compilers, lecture, lab, untitled = result.records
    assert degree.kind is AchievementKind.DEGREE and degree.credits == 120
    assert degree.specification.nus_code == "751909" and degree.specification.iscedf_code == "0511"
    # No double counting: the degree carries ECTS, so its part keeps its 15 only as delivered.
    assert external.parent_key == degree.source_key and external.credits is None
    assert external.details is not None and external.details["credits_as_delivered"] == "15"
    assert external.specification.credits == 15
    assert external.grade is not None and (external.grade.scheme, external.grade.value) == (
        GradeScheme.EXTERNAL, "Innpasset")  # fmt: skip
    assert external.grade.passed is True  # no status: passed
    assert compilers.grade is not None and compilers.grade.value == "45.1"
    assert (
        compilers.grade.scheme_description
        == "A number of the scale from 0.0 to 100.0 (one digit of precision)"
    )
    assert compilers.specification.eqf_level == 5 and compilers.credits == 6
    assert lecture.parent_key == lab.parent_key == compilers.source_key
    assert untitled.specification.title == {"und": "The importance of <br> in HTML"}
    # A Polish issuer's letter grade is on the ECTS letter scale, not the Norwegian A-F one.
    assert untitled.grade is not None and untitled.grade.scheme is GradeScheme.ECTS
    person = degree.person
    assert [(i.kind, i.scheme) for i in person.identifiers] == [("foreign", "PL")]
    assert "elmo.credits_double_counted" in result.warning_codes()
    assert result.facts.details["signature"]["status"] == "invalid"


def test_sikt_sample_mapping() -> None:
    result = extract(example("sikt-vitnemalsportalen-sample.xml"))
    testing, fire_safety = result.records
    assert testing.awarding_org.scheme == "fs" and testing.awarding_org.value == "185"
    assert testing.specification.code == "INF4000" and testing.specification.code_scheme == "fs"
    assert testing.specification.nus_code == "754115" and testing.specification.eqf_level == 7
    assert testing.grade is not None and testing.grade.scheme is GradeScheme.A_F
    assert testing.grade.scheme_description is not None and "Excellent" in testing.grade.scheme_description
    assert testing.term == "2019 Vår" and testing.year == 2019 and str(testing.completed_on) == "2019-07-15"
    assert fire_safety.grade is not None and fire_safety.grade.scheme is GradeScheme.PASS_FAIL
    assert fire_safety.credits == 0
    assert [i.kind for i in testing.person.identifiers] == ["nin"]
    # Liberal where the meaning is clear: gradingScheme before issueDate is read, and said.
    assert "elmo.element_order" in result.warning_codes()


def test_base64_form_reads_the_same_as_the_xml() -> None:
    plain = extract(example("sikt-vitnemalsportalen-sample.xml"))
    encoded = extract(example("sikt-vitnemalsportalen-sample.b64"))
    assert [r.source_key for r in plain.records] == [r.source_key for r in encoded.records]
    assert encoded.facts.details["transport"] == "base64"


def test_gzip_base64_transport_is_read() -> None:
    result = extract(example("dk-stads-signed.gz.b64"))
    assert result.facts.details["transport"] == "gzip+base64"
    assert result.facts.details["signature"]["status"] == "invalid"
    assert "KMD" in result.facts.details["signature"]["subject"]


def test_legacy_namespace_is_read_with_a_warning() -> None:
    result = extract(example("legacy-purl-namespace.xml"))
    assert "elmo.legacy_namespace" in result.warning_codes()
    degree = result.records[0]
    assert degree.kind is AchievementKind.DEGREE and degree.specification.code == "MNB3"
    grades = {r.specification.code: r.grade.value for r in result.records if r.grade}
    assert grades["KJM1001-1"] == "D" and grades["MNSES9100-1"] == "Godkjent"


# --- through the import job, against the real database -------------------------------------------


def _provider_for(engine: Engine, scheme: str, value: str) -> str:
    # The issuing institution delivers its own transcripts in these tests.
    return create_organisation(
        engine, name="Utstedende institusjon", kind="university", codes={scheme: value}
    )


@pytest.mark.parametrize("name", sorted(IMPORTED))
def test_imported_examples_through_the_import_job(db: Engine, settings: Settings, name: str) -> None:
    scheme, value = IMPORTED[name]
    provider = _provider_for(db, scheme, value)
    report = run_import(
        db, io.BytesIO(example(name)), sector="higher", provider_orgnr=provider, settings=settings
    )
    assert (report.status, report.format, report.rejected) == ("completed", "elmo", 0), report.errors
    assert report.accepted == los_count(name)
    with db.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM achievement")).scalar_one()
        details = conn.execute(text("SELECT details FROM import_batch")).scalar_one()
    assert stored == los_count(name)
    assert details["signature"]["status"] in ("invalid", "absent")


@pytest.mark.parametrize("name", sorted(REJECTED_BY_INGEST) + sorted(REJECTED_BY_IMPORTER))
def test_rejected_examples_through_the_import_job(db: Engine, settings: Settings, name: str) -> None:
    provider = _provider_for(db, "fs", "185")
    report = run_import(
        db, io.BytesIO(example(name)), sector="higher", provider_orgnr=provider, settings=settings
    )
    expected = {**REJECTED_BY_INGEST, **REJECTED_BY_IMPORTER}[name]
    assert (report.status, report.accepted, report.rejected) == ("completed", 0, los_count(name))
    # Children of a rejected parent are rejected for that reason; every root carries the cause itself.
    assert expected in {e.code for e in report.errors}
    assert {e.code for e in report.errors} <= {expected, "part_of.unknown"}
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar_one() == 0


def test_foreign_issuer_without_orgnr_via_a_deliverer(db: Engine, settings: Settings) -> None:
    """A Norwegian provider (say Sikt) delivering a foreign university's transcript for it."""
    provider = create_organisation(db, name="Sikt (test)", kind="other")
    with db.begin() as conn:
        foreign = add_organisation(
            conn, orgnr=None, name="Uniwersytet Warszawski", kind="foreign", country="PL",
            codes=[("erasmus", "PL WARSZAW01"), ("pic", "999572294")],
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO organisation_delivery (deliverer_id, on_behalf_of_id)"
                " SELECT id, :f FROM organisation WHERE orgnr = :p"
            ),
            {"f": foreign, "p": provider},
        )
    report = run_import(
        db, io.BytesIO(example("ewp-tor-get-response.xml")), sector="higher", provider_orgnr=provider,
        settings=settings,
    )  # fmt: skip
    assert (report.accepted, report.rejected) == (1, 0)
