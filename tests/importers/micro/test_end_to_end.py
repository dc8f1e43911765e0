"""Micro-credentials through the import job into the real database."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine, text

import importers.micro
from demo.micro import b64url, demo_set, sign_vc_jwt
from importers.micro.importer import MicroCredentialImporter
from importers.micro.proofs import TrustedIssuerKeys
from intake.batches import BatchReport, run_import
from register.settings import Settings
from register.synthetic import synthetic_person
from tests.factories import create_organisation
from tests.importers.micro.helpers import ISSUER_ORGNR, LEARNER, config, full_badge, full_elm

ISSUER = "https://testkurs.example/issuer"
UNIZ = "https://uniz.edu"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> MicroCredentialImporter:
    """The registered importer, with the tests' fixed clock and no configured keys."""
    (importer,) = importers.micro.IMPORTERS
    assert isinstance(importer, MicroCredentialImporter)
    monkeypatch.setattr(importer, "config", config())
    return importer


@pytest.fixture
def provider(db: Engine) -> str:
    return create_organisation(
        db, orgnr=ISSUER_ORGNR, name="Testkurs AS", kind="course_provider", codes={"issuer": ISSUER}
    )


def deliver(engine: Engine, settings: Settings, provider: str, content: bytes | Any) -> BatchReport:
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    return run_import(engine, io.BytesIO(data), sector="micro", provider_orgnr=provider, settings=settings)


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_elm_and_badge_import_and_resend_changes_nothing(
    db: Engine, settings: Settings, provider: str
) -> None:
    batch = [full_elm(), full_badge()]
    report = deliver(db, settings, provider, batch)
    assert (report.status, report.accepted, report.rejected) == ("completed", 2, 0), report.errors
    assert report.format == "micro-credential"
    assert report.details["credentials_by_format"] == {"elm": 1, "ob3": 1}
    with db.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT a.kind, a.credit_scheme, a.credits, s.eqf_level, s.title, o.orgnr
                   FROM achievement a JOIN learning_specification s ON s.id = a.specification_id
                   JOIN organisation o ON o.id = a.awarding_org_id ORDER BY a.source_key"""
            )
        ).all()
    assert [(r.kind, r.credit_scheme, r.eqf_level, r.orgnr) for r in rows] == [
        ("micro_credential", "ects", 6, ISSUER_ORGNR),  # ELM: by organisasjonsnummer
        ("micro_credential", None, 4, ISSUER_ORGNR),  # badge: by issuer URL in the cross-walk
    ]
    again = deliver(db, settings, provider, [full_badge(), full_elm()])
    assert (again.accepted, again.unchanged, again.rejected) == (0, 2, 0)


def test_shared_elm_sample_imports_for_a_registered_issuer(
    db: Engine, settings: Settings, formats_dir: Path
) -> None:
    uniz = create_organisation(
        db, name="University of Zed", kind="foreign", country="IE", codes={"issuer": UNIZ}
    )
    sealed = json.loads((formats_dir / "elm/examples/microcredential-annex1-signed.jsonld").read_bytes())
    report = deliver(db, settings, uniz, {"learner": {"nin": LEARNER.nin}, "credential": sealed})
    assert (report.accepted, report.rejected) == (1, 0), report.errors
    assert [w.code for w in report.warnings] == ["micro.element_missing.quality_assurance"]
    with db.connect() as conn:
        details = conn.execute(text("SELECT details FROM achievement")).scalar_one()
        identifiers = conn.execute(text("SELECT kind, scheme FROM person_identifier ORDER BY kind")).all()
    assert details["proof"]["status"] == "embedded_key"
    # the Italian id the credential carries is kept beside the national id from the envelope
    assert [i.scheme for i in identifiers if i.kind == "foreign"] == ["IT"]
    assert len(identifiers) == 2


def test_unknown_issuer_is_a_clear_rejection(db: Engine, settings: Settings, provider: str) -> None:
    report = deliver(db, settings, provider, full_badge(issuer_id="https://unknown.example/issuer"))
    assert (report.accepted, report.rejected) == (0, 1)
    (error,) = report.errors
    assert "https://unknown.example/issuer" in error.message and "not registered" in error.message
    assert count(db, "SELECT count(*) FROM achievement") == 0


def _alg_none() -> bytes:
    encode = lambda value: b64url(json.dumps(value).encode())  # noqa: E731
    return f"{encode({'alg': 'none'})}.{encode({'vc': full_badge(), 'iss': ISSUER})}.\n".encode()


def test_hostile_deliveries_write_nothing(
    db: Engine, settings: Settings, provider: str, tmp_path: Path, _fixed_clock: MicroCredentialImporter
) -> None:
    key, wrong = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    jwks = tmp_path / "keys.json"
    from jwt.algorithms import RSAAlgorithm

    jwks.write_text(json.dumps({"keys": [json.loads(RSAAlgorithm.to_jwk(key.public_key()))]}))
    _fixed_clock.config = config(trusted_keys=TrustedIssuerKeys.from_files({ISSUER: jwks}))

    malformed = deliver(db, settings, provider, b'{"type": ["VerifiableCredential"], "name": ')
    assert (malformed.status, malformed.exit_code) == ("failed", 2)
    assert malformed.failure is not None and malformed.failure.code == "micro.json_malformed"

    nested = run_import(
        db, io.BytesIO(b'{"type": ["VerifiableCredential"], "a": ' + b"[" * (100 * 1024 * 1024)),
        sector="micro", provider_orgnr=provider, settings=settings,
    )  # fmt: skip
    assert (
        nested.status == "failed" and nested.failure is not None and nested.failure.code == "micro.too_deep"
    )

    none = deliver(db, settings, provider, _alg_none())
    assert (none.rejected, [e.code for e in none.errors]) == (1, ["micro.jwt.alg_none"])

    forged = deliver(db, settings, provider, sign_vc_jwt(full_badge(), wrong, algorithm="RS256").encode())
    assert (forged.rejected, [e.code for e in forged.errors]) == (1, ["micro.jwt.signature_invalid"])

    signed = deliver(db, settings, provider, sign_vc_jwt(full_badge(), key, algorithm="RS256").encode())
    assert (signed.accepted, signed.rejected) == (1, 0)
    assert count(db, "SELECT count(*) FROM achievement") == 1  # only the one properly signed


def test_demo_set_imports_without_rejections(db: Engine, settings: Settings) -> None:
    demo = demo_set(random.Random("2026-micro"))
    for org in demo.organisations:
        create_organisation(db, orgnr=org.orgnr, name=org.name, kind=org.kind, codes=org.codes)
    total = 0
    for delivery in demo.deliveries:
        report = run_import(
            db, io.BytesIO(delivery.content), sector=delivery.sector, provider_orgnr=delivery.provider_orgnr,
            filename=delivery.filename, content_type=delivery.content_type, settings=settings,
        )  # fmt: skip
        assert (report.status, report.rejected) == ("completed", 0), report.errors
        total += report.accepted
    assert total == 8
    assert count(db, "SELECT count(*) FROM achievement WHERE details->'proof'->>'status' = 'verified'") == 2


def test_finding_1_in_elm_a_foreign_id_of_another_learner_is_not_merged(
    db: Engine, settings: Settings, provider: str
) -> None:
    """Issue 13, finding 1 as found in ELM credentials: a new learner (national id in the envelope)
    whose credential carries an Italian id another person holds was attached to that person."""
    anna, bjorn = LEARNER.nin, synthetic_person(random.Random(77), 1995).nin

    def italian(credential_id: str) -> dict[str, Any]:
        credential = full_elm(credential_id=credential_id)
        credential["credentialSubject"]["nationalID"] = {
            "id": "urn:epass:legalIdentifier:person",
            "type": "LegalIdentifier",
            "notation": "RSSMRA80A01H501U",
            "spatial": {
                "id": "http://publications.europa.eu/resource/authority/country/ITA",
                "type": "Concept",
            },
        }
        return credential

    first = deliver(
        db, settings, provider, {"learner": {"nin": anna}, "credential": italian("urn:credential:a")}
    )
    assert (first.accepted, first.rejected) == (1, 0), first.errors
    assert count(db, "SELECT count(*) FROM person_identifier WHERE kind = 'foreign' AND scheme = 'IT'") == 1
    second = deliver(
        db, settings, provider, {"learner": {"nin": bjorn}, "credential": italian("urn:credential:b")}
    )
    assert [e.code for e in second.errors] == ["person.identifier_conflict"]
    assert count(db, "SELECT count(*) FROM achievement") == 1
    assert count(db, "SELECT count(*) FROM person_identifier WHERE kind IN ('fnr', 'dnr', 'synthetic')") == 1
