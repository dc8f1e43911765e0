"""A wallet written for the tests: a fresh P-256 key per wallet, real key proofs, the whole pre-authorized
flow over the app's HTTP interface; and a verifier built on independent code (the ``sd-jwt`` reference
implementation, ``cryptography``'s X.509 path validation, PyJWT), holding every credential to the checks
those libraries leave out."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier
from sqlalchemy import Engine

from api.app import create_app
from register.settings import Settings
from register.wallet import create_offer, status
from register.wallet.keys import dev_ca_path
from tests.api.conftest import *  # noqa: F403  (the app, settings, token and organisation fixtures)
from tests.api.rows import Spec, add_achievement, new_batch, new_person
from tests.factories import new_nin

ISSUER = "http://testserver"
PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


@pytest.fixture
def wallet_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"wallet_issuer_url": ISSUER})


@pytest.fixture
def app(db: Engine, wallet_settings: Settings) -> Iterator[FastAPI]:
    yield create_app(wallet_settings, engine=db)


@dataclass
class Learner:
    nin: str
    person_id: uuid.UUID
    achievements: list[uuid.UUID]  # a course with a grade and EQF level, a second course


@pytest.fixture
def learner(db: Engine, orgs: dict[str, str]) -> Learner:
    nin = new_nin(41)
    with db.begin() as conn:
        person = new_person(conn, nin, "Ingrid", "Haugen")
        batch = new_batch(conn, orgs["own"])
        ids = [
            add_achievement(
                conn,
                person_id=person,
                batch_id=batch,
                provider_orgnr=orgs["own"],
                spec=Spec(code, eqf_level=6, credits=Decimal("7.5"), credit_scheme="ects"),
                grade=("a-f", grade, True),
                credits=Decimal("7.5"),
                credit_scheme="ects",
            )
            for code, grade in (("DAT100", "B"), ("DAT200", "A"))
        ]
    return Learner(nin, person, ids)


def offer_for(
    db: Engine, settings: Settings, learner: Learner, ids: list[uuid.UUID] | None = None, **kw: Any
):
    with db.begin() as conn:
        return create_offer(conn, learner.person_id, ids or learner.achievements, settings, **kw)


def parse_offer(uri: str) -> dict[str, Any]:
    parts = urlsplit(uri)
    assert parts.scheme == "openid-credential-offer"
    return json.loads(parse_qs(parts.query)["credential_offer"][0])


@dataclass
class Wallet:
    """A holder: one fresh P-256 key, speaking OpenID4VCI to the app through ``client``."""

    client: TestClient
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    access_token: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def public_jwk(self) -> dict[str, Any]:
        return jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)

    def metadata(self) -> dict[str, Any]:
        found = self.client.get("/.well-known/openid-credential-issuer")
        assert found.status_code == 200
        return found.json()

    def token(self, code: str, tx_code: str | None) -> Any:
        form = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code}
        if tx_code is not None:
            form["tx_code"] = tx_code
        answer = self.client.post("/wallet/token", data=form)
        if answer.status_code == 200:
            self.access_token = answer.json()["access_token"]
            self.details = answer.json()["authorization_details"]
        return answer

    def nonce(self) -> str:
        answer = self.client.post("/wallet/nonce")
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        return str(answer.json()["c_nonce"])

    def proof(
        self, nonce: str | None, *, key: ec.EllipticCurvePrivateKey | None = None, **overrides: Any
    ) -> str:
        claims: dict[str, Any] = {"aud": ISSUER, "iat": int(time.time()), "nonce": nonce}
        claims.update(overrides.pop("claims", {}))
        headers = {"typ": "openid4vci-proof+jwt", "jwk": self.public_jwk, **overrides}
        return jwt.encode(
            {k: v for k, v in claims.items() if v is not None}, key or self.key, "ES256", headers
        )

    def credential(self, body: dict[str, Any], **request: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}
        return self.client.post("/wallet/credential", json=body, headers=headers, **request)

    def receive(self, offer_uri: str, tx_code: str) -> list[str]:
        """The whole flow for every credential identifier the token response names."""
        offer = parse_offer(offer_uri)
        assert offer["credential_issuer"] == self.metadata()["credential_issuer"] == ISSUER
        grant = offer["grants"][PRE_AUTHORIZED]
        assert self.token(grant["pre-authorized_code"], tx_code).status_code == 200
        made = []
        for detail in self.details:
            for identifier in detail["credential_identifiers"]:
                body = {"credential_identifier": identifier, "proofs": {"jwt": [self.proof(self.nonce())]}}
                answer = self.credential(body)
                assert answer.status_code == 200, answer.text
                made.extend(c["credential"] for c in answer.json()["credentials"])
        return made


@pytest.fixture
def wallet(client: TestClient) -> Wallet:
    return Wallet(client)


@dataclass
class Verified:
    header: dict[str, Any]
    payload: dict[str, Any]  # every disclosure applied
    signed: dict[str, Any]  # the issuer-signed JWT's payload as it stands (digests, not values)


def verify(client: TestClient, settings: Settings, credential: str, holder: Wallet, vct: str) -> Verified:
    """The credential verified as a relying party would, trusting only the development CA."""
    ca = x509.load_pem_x509_certificate(dev_ca_path(settings).read_bytes())
    found: dict[str, Any] = {}

    def issuer_key(issuer: str, header: dict[str, Any]) -> JWK:
        assert issuer == ISSUER
        chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
        verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("testserver"))
        verifier.verify(chain[0], chain[1:])  # raises unless the leaf chains to the CA, for this host
        found["header"] = header
        return JWK.from_pyca(chain[0].public_key())

    payload = SDJWTVerifier(credential, issuer_key).get_verified_payload()
    header = found["header"]
    signed = jwt.decode(credential.split("~")[0], options={"verify_signature": False})
    # What the reference implementation leaves to its caller:
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
    assert payload["vct"] == vct and payload["iss"] == ISSUER
    now = time.time()
    assert payload["iat"] <= now < payload["exp"]
    assert payload["cnf"]["jwk"] == holder.public_jwk
    # The issuer's published keys are the key that signed.
    published = client.get("/.well-known/jwt-vc-issuer").json()
    assert published["issuer"] == ISSUER
    assert [k["x5c"] for k in published["jwks"]["keys"]] == [header["x5c"]]
    return Verified(header, payload, signed)


def status_of(client: TestClient, settings: Settings, reference: dict[str, Any]) -> int:
    """The credential's status, read from its status list token as a verifier reads it."""
    uri = reference["status_list"]["uri"]
    answer = client.get(urlsplit(uri).path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/statuslist+jwt"
    header = jwt.get_unverified_header(answer.text)
    assert header["typ"] == "statuslist+jwt"
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    claims = jwt.decode(answer.text, leaf.public_key(), algorithms=["ES256"])  # type: ignore[arg-type]
    assert claims["sub"] == uri and claims["ttl"] == settings.wallet_status_ttl_seconds
    assert claims["exp"] > time.time()
    assert claims["status_list"]["bits"] == 1
    return status.status_at(status.decode(claims["status_list"]["lst"]), reference["status_list"]["idx"])


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def vct_of(credential: str) -> str:
    """The ``vct`` of an SD-JWT VC, unverified (to pick a credential out of a response)."""
    return str(jwt.decode(credential.split("~")[0], options={"verify_signature": False})["vct"])
