"""Every token defect is a 401 problem; a missing scope is a 403; development tokens only in development."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from api.auth import AuthError, TokenVerifier, parse_jwks
from register.settings import Settings
from register.tokens import DEV_ISSUER, TokenRequestError, issue_dev_token
from tests.api.conftest import ADMIN, ISSUER, KID, READ, STATS, WRITE, Token, bearer, claims

ORG = "910000004"  # only has to be a valid orgnr: these requests stop at authentication


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unsigned(header: dict, payload: dict) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload, default=str).encode())}"


def _epoch(payload: dict) -> dict:
    return {k: int(v.timestamp()) if isinstance(v, dt.datetime) else v for k, v in payload.items()}


def _alg_none() -> str:
    return _unsigned({"alg": "none", "typ": "JWT"}, _epoch(claims(ORG, [READ]))) + "."


def _hs256_with_public_key(issuer_key: rsa.RSAPrivateKey) -> str:
    # The classic confusion: HMAC keyed with the issuer's *public* key, which anyone can fetch.
    public_pem = issuer_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": KID}, _epoch(claims(ORG, [READ])))
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _bad_signature(token: Token) -> str:
    header, payload, signature = token(ORG, READ).split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["scope"] = f"{READ} {ADMIN}"
    return f"{header}.{_b64(json.dumps(forged).encode())}.{signature}"


def _untrusted_issuer() -> str:
    stranger = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims(ORG, [READ], iss="https://evil.example/"), stranger, algorithm="ES256")


def _trusted_iss_wrong_key() -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(ORG, [READ]), stranger, algorithm="RS256", headers={"kid": KID})


@pytest.fixture
def defects(token: Token, issuer_key: rsa.RSAPrivateKey) -> dict[str, tuple[str, str]]:
    now = dt.datetime.now(dt.UTC)
    return {
        "alg none": (_alg_none(), "token.algorithm_not_allowed"),
        "HS256 keyed with the public key": (
            _hs256_with_public_key(issuer_key),
            "token.algorithm_not_allowed",
        ),
        "wrong audience": (token(ORG, READ, aud="https://other.example"), "token.wrong_audience"),
        "expired": (
            token(ORG, READ, iat=now - dt.timedelta(hours=2), exp=now - dt.timedelta(hours=1)),
            "token.expired",
        ),
        "not yet valid": (token(ORG, READ, nbf=now + dt.timedelta(hours=1)), "token.not_yet_valid"),
        "issued in the future": (
            token(ORG, READ, iat=now + dt.timedelta(hours=1), exp=now + dt.timedelta(hours=2)),
            "token.not_yet_valid",
        ),
        "unknown issuer": (_untrusted_issuer(), "token.unknown_issuer"),
        "bad signature": (_bad_signature(token), "token.bad_signature"),
        "signed by another key": (_trusted_iss_wrong_key(), "token.bad_signature"),
        "unknown key id": (
            jwt.encode(claims(ORG, [READ]), issuer_key, algorithm="RS256", headers={"kid": "nope"}),
            "token.unknown_key",
        ),
        "no expiry": (token(ORG, READ, exp=None), "token.missing_claim"),
        "consumer not an orgnr": (
            token(ORG, READ, consumer={"authority": "iso6523-actorid-upis", "ID": "0192:123"}),
            "token.invalid_claims",
        ),
        "not a JWT": ("definitely-not-a-token", "token.malformed"),
    }


def test_each_token_defect_is_a_401_problem(client: TestClient, defects: dict[str, tuple[str, str]]) -> None:
    for name, (bad, code) in defects.items():
        response = client.post("/v1/persons/lookup", json={"nin": "24890654459"}, headers=bearer(bad))
        assert response.status_code == 401, name
        assert response.headers["content-type"] == "application/problem+json", name
        body = response.json()
        assert (body["code"], body["status"]) == (code, 401), name
        assert response.headers["www-authenticate"].startswith("Bearer"), name


def test_no_token_is_401_and_a_missing_scope_is_403(client: TestClient, token: Token) -> None:
    missing = client.get("/v1/stats/achievements")
    assert (missing.status_code, missing.json()["code"]) == (401, "auth.missing_token")
    basic = client.get("/v1/stats/achievements", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert basic.status_code == 401
    forbidden = client.get("/v1/stats/achievements", headers=bearer(token(ORG, READ)))
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "auth.missing_scope")
    assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]


def test_a_valid_token_passes(client: TestClient, token: Token) -> None:
    response = client.get("/v1/stats/achievements", headers=bearer(token(ORG, STATS)))
    assert response.status_code == 200, response.text


def test_development_tokens_are_trusted_in_development_only(
    client: TestClient, api_settings: Settings, tmp_path: Path
) -> None:
    dev = issue_dev_token(api_settings, scopes=[STATS], orgnr=ORG, expires_in=60)
    assert jwt.get_unverified_header(dev)["alg"] == "ES256"
    assert jwt.decode(dev, options={"verify_signature": False})["iss"] == DEV_ISSUER
    assert client.get("/v1/stats/achievements", headers=bearer(dev)).status_code == 200
    production = Settings(
        environment="production",
        allow_synthetic_ids=False,
        database_url=api_settings.database_url,
        jwt_issuers=api_settings.jwt_issuers,
        jwks_files=api_settings.jwks_files,
        data_dir=api_settings.data_dir,
    )
    verifier = TokenVerifier.from_settings(production)
    assert DEV_ISSUER not in verifier.issuers
    with pytest.raises(AuthError) as refused:
        verifier.verify(dev)
    assert refused.value.code == "token.unknown_issuer"
    with pytest.raises(TokenRequestError):
        issue_dev_token(production, scopes=[STATS], orgnr=ORG)


def test_development_token_requests_are_checked(api_settings: Settings) -> None:
    assert issue_dev_token(api_settings, scopes=[READ, WRITE], orgnr=ORG).count(".") == 2
    with pytest.raises(TokenRequestError, match="unknown scope"):
        issue_dev_token(api_settings, scopes=["kompetanse:everything"], orgnr=ORG)
    with pytest.raises(TokenRequestError, match="organisasjonsnummer"):
        issue_dev_token(api_settings, scopes=[READ], orgnr="123456789")
    with pytest.raises(TokenRequestError, match="expires-in"):
        issue_dev_token(api_settings, scopes=[READ], orgnr=ORG, expires_in=0)
    key_file = api_settings.data_dir / "dev-token-key.pem"
    assert key_file.stat().st_mode & 0o077 == 0  # the private key is readable by its owner only


def test_jwks_with_secret_or_private_keys_is_refused(issuer_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="not accepted"):
        parse_jwks({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(issuer_key))
    with pytest.raises(ValueError, match="public keys only"):
        parse_jwks({"keys": [private]})
    with pytest.raises(ValueError, match="same number"):
        TokenVerifier.from_settings(Settings(jwt_issuers=[ISSUER, "x"], jwks_files=[]))
