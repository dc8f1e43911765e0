"""Every real ELM and Open Badges example (tests/fixtures/formats): imported, or rejected with a message naming the cause."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from importers.micro.importer import MicroCredentialImporter
from register.grading import AchievementKind, CreditScheme, GradeScheme
from tests.importers.micro.helpers import LEARNER, codes, errors, extract, records

ELM = "elm/examples/microcredential-annex1-"
OB = "openbadges3/examples/"
EXAMPLES = [
    ELM + "signed.jsonld",
    ELM + "unsigned.jsonld",
    ELM + "uploadable.json",
    OB + "basic.json",
    OB + "complete.json",
    OB + "simple-signed.json",
    OB + "simple.jwt",
]


def _read(formats_dir: Path, name: str) -> bytes:
    return (formats_dir / name).read_bytes()


def _enveloped(formats_dir: Path, name: str) -> dict[str, Any]:
    raw = _read(formats_dir, name)
    credential = raw.decode().strip() if name.endswith(".jwt") else json.loads(raw)
    if isinstance(credential, dict) and set(credential) == {"credential"}:
        # Europass's upload form is already {"credential": …}: the learner goes beside it
        return credential | {"learner": {"nin": LEARNER.nin}}
    return {"learner": {"nin": LEARNER.nin}, "credential": credential}


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_is_recognised(formats_dir: Path, name: str) -> None:
    raw = _read(formats_dir, name)
    assert MicroCredentialImporter().identify(raw[: 64 * 1024], Path(name).name, None)


@pytest.mark.parametrize("name", EXAMPLES)
def test_bare_example_is_rejected_for_want_of_a_norwegian_learner(formats_dir: Path, name: str) -> None:
    """None of the examples identifies its learner by a Norwegian national id."""
    items = extract(_read(formats_dir, name))
    assert records(items) == []
    (error,) = errors(items)
    assert error.code == "micro.element_missing.learner"
    assert "no Norwegian national id" in error.message and '{"learner": {"nin"' in error.message
    if name.startswith(ELM):
        assert "national id of IT" in error.message  # the sample learner's id is Italian


@pytest.mark.parametrize("name", [ELM + "signed.jsonld", ELM + "unsigned.jsonld", ELM + "uploadable.json"])
def test_elm_annex1_sample_maps_every_element(formats_dir: Path, name: str) -> None:
    items = extract(_enveloped(formats_dir, name))
    (record,) = records(items)
    # the Commission's sample has no quality-assurance element: the one warning
    assert codes(items) == ["micro.element_missing.quality_assurance"]
    assert record.kind is AchievementKind.MICRO_CREDENTIAL
    assert record.person.identifiers[0].kind == "nin" and record.person.identifiers[0].value == LEARNER.nin
    assert [(i.kind, i.scheme, i.value) for i in record.person.identifiers[1:]] == [
        ("foreign", "IT", "LA-234218")
    ]
    assert (record.person.given_name, record.person.family_name) == ("Ana", "Andromeda")
    assert record.awarding_org.scheme == "issuer" and record.awarding_org.value == "https://uniz.edu"
    spec = record.specification
    assert spec.title == {"en": "Digital micro-credential creation"}
    assert spec.learning_outcomes == (
        "Communication, collaboration and creativity",
        "Developing digital content",
    )
    assert (spec.credits, spec.credit_scheme) == (Decimal(2), CreditScheme.ECTS)
    assert (record.credits, record.credit_scheme) == (Decimal(2), CreditScheme.ECTS)
    assert spec.eqf_level == 6 and spec.iscedf_code == "0688"
    assert spec.details is not None
    assert spec.details["workload_hours"] == "60"
    assert spec.details["assessment"]["type"] == "artefact assessment"
    assert spec.details["participation"] == {"mode": "Blended", "learning_setting": "non-formal learning"}
    assert spec.details["nqf_level"]["label"] == "RQF Level 6"
    assert record.grade is not None
    assert (record.grade.scheme, record.grade.value, record.grade.passed) == (
        GradeScheme.EXTERNAL,
        "Pass",
        True,
    )
    assert record.details is not None and record.details["issuer_country"] == "IRL"


def test_elm_sealed_sample_verifies_under_its_own_certificate(formats_dir: Path) -> None:
    (record,) = records(extract(_enveloped(formats_dir, ELM + "signed.jsonld")))
    assert record.details is not None
    proof = record.details["proof"]
    assert (proof["status"], proof["method"]) == ("embedded_key", "jades")
    assert "CN=TEST SEAL" in proof["certificate_subject"]
    assert "trusted lists" in proof["reason"]
    # the sealed form carries its own issue date, in the issuer's zone
    assert record.completed_on == dt.date(2023, 9, 27)
    assert record.source_key == "urn:credential:1018d05f-21d5-4555-b7f0-8fabfd22ca75"


def test_elm_sealed_sample_altered_after_sealing_is_rejected(formats_dir: Path) -> None:
    sealed = json.loads(_read(formats_dir, ELM + "signed.jsonld"))
    sealed["payload"] = sealed["payload"].replace('"point":"2"', '"point":"20"')
    assert '"point":"20"' in sealed["payload"]
    items = extract({"learner": {"nin": LEARNER.nin}, "credential": sealed})
    assert records(items) == []
    (error,) = errors(items)
    assert error.code == "micro.jades.signature_invalid"


def test_elm_unsealed_sample_is_dated_by_its_validity_in_norwegian_time(formats_dir: Path) -> None:
    (record,) = records(extract(_enveloped(formats_dir, ELM + "unsigned.jsonld")))
    # validFrom 2022-12-31T23:00:00Z is midnight 1 January in Oslo
    assert record.completed_on == dt.date(2023, 1, 1) and record.year == 2023
    assert record.details is not None and record.details["proof"]["status"] == "absent"


def test_ob_basic_example_imports_with_seven_elements_reported_missing(formats_dir: Path) -> None:
    items = extract(_enveloped(formats_dir, OB + "basic.json"))
    (record,) = records(items)
    assert record.awarding_org.value == "https://example.com/issuers/876543"
    assert record.specification.title == {"und": "Teamwork"}
    assert record.specification.code == "https://example.com/achievements/21st-century-skills/teamwork"
    assert record.details is not None
    assert record.details["missing_elements"] == [
        "issuer_country", "learning_outcomes", "workload", "level", "assessment", "participation", "quality_assurance",
    ]  # fmt: skip
    assert record.completed_on == dt.date(2010, 1, 1)


def test_ob_complete_example_maps_result_endorsements_and_status(formats_dir: Path) -> None:
    items = extract(_enveloped(formats_dir, OB + "complete.json"))
    (record,) = records(items)
    assert record.grade is not None and (record.grade.value, record.grade.scheme_description) == (
        "A",
        "Final Project Grade",
    )
    spec = record.specification
    assert spec.details is not None
    assert spec.details["workload"] == {"credits_available": "36.0", "unit": "Open Badges credit hours"}
    assert spec.credits is None  # OB credit hours are no register credit scheme
    assert {e["endorser"] for e in spec.details["quality_assurance"]["endorsements"]} == {
        "Example Accrediting Agency"
    }
    assert record.details is not None
    assert record.details["credential_status"]["checked"] is False
    assert record.details["validity"]["valid_until"] == "2030-01-01T00:00:00Z"
    assert record.details["issuer_country"] == "US"
    assert record.details["missing_elements"] == ["level", "participation"]
    assert "micro.status_not_checked" in codes(items)


def test_ob_complete_example_names_its_learner_only_by_email(formats_dir: Path) -> None:
    (error,) = errors(extract(_read(formats_dir, OB + "complete.json")))
    assert error.code == "micro.element_missing.learner"


def test_ob_signed_example_records_its_data_integrity_proof_unverified(formats_dir: Path) -> None:
    (record,) = records(extract(_enveloped(formats_dir, OB + "simple-signed.json")))
    assert record.details is not None
    assert record.details["proof"]["status"] == "not_verified"
    assert record.details["proof"]["method"] == "DataIntegrityProof/eddsa-rdfc-2022"


def test_ob_jwt_example_has_no_key_to_verify_it_with(formats_dir: Path) -> None:
    items = extract(_enveloped(formats_dir, OB + "simple.jwt"))
    (record,) = records(items)
    assert record.details is not None
    assert record.details["proof"]["status"] == "not_verified"
    assert record.awarding_org.value == "https://example.edu/issuers/565049"
    # a VC Data Model 1.1 credential: dated by its issuanceDate
    assert record.completed_on == dt.date(2010, 1, 1)
    assert record.specification.title == {"und": "Example University Degree"}


def test_the_documented_envelope_example_imports() -> None:
    example = Path(__file__).resolve().parents[3] / "docs" / "formats" / "examples" / "micro-envelope.jsonl"
    items = extract(example.read_bytes())
    assert len(records(items)) == 2 and errors(items) == []
    assert {r.awarding_org.value for r in records(items)} == {"https://kursakademiet.example/issuer"}
