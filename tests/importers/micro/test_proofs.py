"""Proofs: VC-JWT verification (configured keys, did:jwk, header keys), JAdES seals, Data Integrity,
expiry and status lists."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.micro import b64url, did_jwk_for, sign_vc_jwt
from importers.micro.proofs import TrustedIssuerKeys
from tests.importers.micro.helpers import codes, config, errors, extract, full_badge, records, warnings

ISSUER = "https://testkurs.example/issuer"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(tmp_path: Path, key: Any, kid: str = "k1") -> Path:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    path = tmp_path / "issuer-keys.json"
    path.write_text(json.dumps({"keys": [jwk | {"kid": kid}]}))
    return path


def _trusting(tmp_path: Path, key: Any = RSA_KEY, **overrides: Any) -> Any:
    return config(trusted_keys=TrustedIssuerKeys.from_files({ISSUER: _jwks(tmp_path, key)}), **overrides)


def test_vc_jwt_verified_with_the_issuers_configured_key(tmp_path: Path) -> None:
    token = sign_vc_jwt(full_badge(), RSA_KEY, algorithm="RS256", kid="k1")
    items = extract(token.encode(), _trusting(tmp_path))
    (record,) = records(items)
    assert record.details is not None
    assert record.details["proof"] == {
        "status": "verified",
        "method": "vc-jwt",
        "alg": "RS256",
        "kid": "k1",
        "key": "configured",
    }
    assert record.details["format"] == "ob3"
    assert "micro.proof_not_verified" not in codes(items)


def test_vc_jwt_signed_with_the_wrong_key_is_rejected(tmp_path: Path) -> None:
    token = sign_vc_jwt(full_badge(), OTHER_RSA_KEY, algorithm="RS256", kid="k1")
    items = extract(token.encode(), _trusting(tmp_path))
    assert records(items) == []
    (error,) = errors(items)
    assert error.code == "micro.jwt.signature_invalid"
    assert ISSUER in error.message and error.path == "proof"


def test_vc_jwt_naming_an_unknown_key_of_a_configured_issuer_is_rejected(tmp_path: Path) -> None:
    token = sign_vc_jwt(full_badge(), RSA_KEY, algorithm="RS256", kid="another")
    assert codes(extract(token.encode(), _trusting(tmp_path))) == ["micro.jwt.key_unknown"]


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> bytes:
    encode = lambda value: b64url(json.dumps(value).encode())  # noqa: E731
    return f"{encode(header)}.{encode(claims)}.".encode()


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_rejected(alg: str, tmp_path: Path) -> None:
    token = _unsigned({"vc": full_badge(), "iss": ISSUER}, {"alg": alg, "typ": "JWT"})
    items = extract(token, _trusting(tmp_path))
    assert records(items) == []
    (error,) = errors(items)
    assert error.code == "micro.jwt.alg_none"
    assert "unsigned credential cannot claim a signature" in error.message


def test_alg_none_is_rejected_even_without_any_configured_key() -> None:
    token = _unsigned({"vc": full_badge()}, {"alg": "none"})
    assert codes(extract(token)) == ["micro.jwt.alg_none"]


def test_a_shared_secret_signature_is_rejected(tmp_path: Path) -> None:
    token = sign_vc_jwt(full_badge(), "a-shared-secret-of-enough-length!", algorithm="HS256")
    assert codes(extract(token.encode(), _trusting(tmp_path))) == ["micro.jwt.alg_symmetric"]


def test_did_jwk_issuer_verifies_with_no_configuration() -> None:
    key = Ed25519PrivateKey.generate()
    did = did_jwk_for(key)
    token = sign_vc_jwt(full_badge(issuer_id=did), key, algorithm="EdDSA", kid=f"{did}#0")
    (record,) = records(extract(token.encode()))
    assert record.details is not None and record.details["proof"]["status"] == "verified"
    assert record.details["proof"]["key"] == "did:jwk"
    assert record.awarding_org.scheme == "issuer" and record.awarding_org.value == did


def test_did_jwk_credential_altered_after_signing_is_rejected() -> None:
    key = Ed25519PrivateKey.generate()
    did = did_jwk_for(key)
    header, payload, signature = sign_vc_jwt(full_badge(issuer_id=did), key, algorithm="EdDSA").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["vc"]["credentialSubject"]["achievement"]["name"] = "Doktorgrad"
    forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
    assert codes(extract(forged.encode())) == ["micro.jwt.signature_invalid"]


def test_did_jwk_signed_by_someone_else_is_rejected() -> None:
    did = did_jwk_for(Ed25519PrivateKey.generate())
    token = sign_vc_jwt(full_badge(issuer_id=did), Ed25519PrivateKey.generate(), algorithm="EdDSA")
    assert codes(extract(token.encode())) == ["micro.jwt.signature_invalid"]


def test_a_key_in_the_jwt_header_proves_integrity_only() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    badge = full_badge()
    claims = {"vc": badge, "iss": ISSUER, "jti": badge["id"]}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"jwk": jwk})
    items = extract(token.encode())
    (record,) = records(items)
    assert record.details is not None and record.details["proof"]["status"] == "embedded_key"
    other = json.loads(
        jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    )
    token = jwt.encode(claims, key, algorithm="ES256", headers={"jwk": other})
    assert codes(extract(token.encode())) == ["micro.jwt.signature_invalid"]


def test_vc_jwt_without_a_key_is_imported_as_not_verified_or_rejected_by_setting() -> None:
    token = sign_vc_jwt(full_badge(), RSA_KEY, algorithm="RS256").encode()
    items = extract(token)
    (record,) = records(items)
    assert record.details is not None and record.details["proof"]["status"] == "not_verified"
    assert "REGISTER_MICRO_ISSUER_JWKS" in record.details["proof"]["reason"]
    assert "micro.proof_not_verified" in codes(items)
    strict = extract(token, config(require_verified_proof=True))
    assert records(strict) == []
    assert codes(strict) == ["micro.proof_not_verified"]


def test_jwt_whose_iss_differs_from_the_credential_issuer_is_rejected() -> None:
    badge = full_badge()
    token = jwt.encode({"vc": badge, "iss": "https://elsewhere.example"}, RSA_KEY, algorithm="RS256")
    assert codes(extract(token.encode())) == ["micro.jwt.issuer_mismatch"]


def test_a_malformed_jwt_is_rejected() -> None:
    assert codes(extract(b"eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln\n")) == ["micro.jwt.malformed"]


def test_jwts_one_per_line_and_in_a_json_array() -> None:
    key = Ed25519PrivateKey.generate()
    did = did_jwk_for(key)
    tokens = [
        sign_vc_jwt(full_badge(issuer_id=did, credential_id=f"urn:uuid:{n}"), key, algorithm="EdDSA")
        for n in range(3)
    ]
    assert len(records(extract("\n".join(tokens).encode() + b"\n"))) == 3
    assert len(records(extract(json.dumps(tokens).encode()))) == 3


def test_data_integrity_proof_is_recorded_as_not_verified() -> None:
    badge = full_badge()
    badge["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": f"{ISSUER}#key-1",
        "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk",
    }
    items = extract(badge)
    (record,) = records(items)
    assert record.details is not None
    proof = record.details["proof"]
    assert (proof["status"], proof["method"]) == ("not_verified", "DataIntegrityProof/eddsa-rdfc-2022")
    assert "offline" in proof["reason"]
    assert "micro.proof_not_verified" in codes(items)


def test_expired_credential_is_imported_with_its_validity_or_rejected_by_setting() -> None:
    badge = full_badge()
    badge["validUntil"] = "2026-01-01T00:00:00Z"  # before the tests' fixed clock
    items = extract(badge)
    (record,) = records(items)
    assert record.details is not None and record.details["validity"]["valid_until"] == "2026-01-01T00:00:00Z"
    assert "micro.expired" in codes(items)
    strict = extract(badge, config(expired="reject"))
    assert records(strict) == [] and codes(strict) == ["micro.expired"]


def test_a_credential_valid_until_later_has_no_expiry_warning() -> None:
    badge = full_badge()
    badge["validUntil"] = "2027-01-01T00:00:00Z"
    assert "micro.expired" not in codes(extract(badge, config(expired="reject")))


def test_status_list_is_recorded_as_not_checked() -> None:
    badge = full_badge()
    badge["credentialStatus"] = {
        "id": "https://testkurs.example/status/3#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
    }
    items = extract(badge)
    (record,) = records(items)
    assert record.details is not None
    status = record.details["credential_status"]
    assert status["checked"] is False and status["type"] == "BitstringStatusListEntry"
    assert "network" in status["reason"]
    assert "micro.status_not_checked" in [w.code for w in warnings(items)]


def test_vc_jwt_exp_stands_for_valid_until() -> None:
    key = Ed25519PrivateKey.generate()
    did = did_jwk_for(key)
    badge = full_badge(issuer_id=did)
    claims = {"vc": badge, "iss": did, "jti": badge["id"], "exp": 1767225600}  # 2026-01-01, before the clock
    token = jwt.encode(claims, key, algorithm="EdDSA")
    items = extract(token.encode())
    (record,) = records(items)
    assert record.details is not None and record.details["validity"]["valid_until"] == "2026-01-01T00:00:00Z"
    assert "micro.expired" in codes(items)
