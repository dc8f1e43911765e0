"""Signed ELMO: verified with signxml, outcome and certificate subject recorded on the batch."""

from __future__ import annotations

import io
import random

import pytest
from sqlalchemy import Engine, text

from demo.higher import elmo_document, institutions, random_transcript
from importers.base import UnusableInput
from intake.batches import run_import
from register.settings import Settings
from register.synthetic import synthetic_person
from tests.factories import create_organisation
from tests.importers.higher.helpers import Identity, extract, sign, signing_identity


@pytest.fixture(scope="module")
def identity() -> Identity:
    return signing_identity()


@pytest.fixture(scope="module")
def document() -> bytes:
    rng = random.Random(7)
    return elmo_document(random_transcript(rng, institutions(rng)[0], synthetic_person(rng, 1995)))


def test_valid_signature_is_recorded_with_its_subject(identity: Identity, document: bytes) -> None:
    result = extract(sign(document, identity))
    signature = result.facts.details["signature"]
    assert signature["status"] == "valid"
    assert signature["subject"] == "CN=Universitetet i Nordvik (demo),C=NO"
    assert signature["algorithm"].endswith("rsa-sha256")
    assert not any(code.startswith("elmo.signature") for code in result.warning_codes())
    assert len(result.records) == len(extract(document).records)


def test_changed_document_is_a_warning_by_default(identity: Identity, document: bytes) -> None:
    tampered = sign(document, identity).replace(b"<resultLabel>", b"<resultLabel>A", 1)
    result = extract(tampered)
    assert result.facts.details["signature"]["status"] == "invalid"
    assert "elmo.signature_invalid" in result.warning_codes()
    assert result.records  # still imported: the setting decides


def test_changed_document_is_refused_when_a_valid_signature_is_required(
    identity: Identity, document: bytes
) -> None:
    tampered = sign(document, identity).replace(b"<resultLabel>", b"<resultLabel>A", 1)
    with pytest.raises(UnusableInput) as caught:
        extract(tampered, require_valid_signature=True)
    assert caught.value.code == "elmo.signature_invalid"


def test_expired_certificate(document: bytes) -> None:
    signed = sign(document, signing_identity(expired=True))
    result = extract(signed)
    assert result.facts.details["signature"]["status"] == "expired"
    assert "elmo.signature_expired" in result.warning_codes()
    with pytest.raises(UnusableInput) as caught:
        extract(signed, require_valid_signature=True)
    assert caught.value.code == "elmo.signature_expired"


def test_unsigned_document_is_refused_only_when_a_signature_is_required(document: bytes) -> None:
    assert extract(document).facts.details["signature"] == {"status": "absent"}
    with pytest.raises(UnusableInput) as caught:
        extract(document, require_valid_signature=True)
    assert caught.value.code == "elmo.signature_missing"


def test_valid_signature_passes_when_required(identity: Identity, document: bytes) -> None:
    result = extract(sign(document, identity), require_valid_signature=True)
    assert result.records and result.facts.details["signature"]["status"] == "valid"


def test_signature_outcome_is_stored_on_the_batch(
    db: Engine, settings: Settings, identity: Identity, document: bytes
) -> None:
    provider = create_organisation(
        db, name="Universitetet i Nordvik", kind="university", codes={"fs": "9101"}
    )
    report = run_import(
        db, io.BytesIO(sign(document, identity)), sector="higher", provider_orgnr=provider, settings=settings
    )
    assert report.status == "completed" and report.rejected == 0
    with db.connect() as conn:
        details = conn.execute(text("SELECT details FROM import_batch")).scalar_one()
    assert details["signature"]["status"] == "valid"
    assert details["signature"]["subject"] == "CN=Universitetet i Nordvik (demo),C=NO"


def test_refusal_when_required_writes_nothing(db: Engine, settings: Settings, document: bytes) -> None:
    provider = create_organisation(
        db, name="Universitetet i Nordvik", kind="university", codes={"fs": "9101"}
    )
    strict = settings.model_copy(update={"elmo_require_valid_signature": True})
    report = run_import(db, io.BytesIO(document), sector="higher", provider_orgnr=provider, settings=strict)
    assert report.status == "failed" and report.failure is not None
    assert report.failure.code == "elmo.signature_missing"
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar_one() == 0
