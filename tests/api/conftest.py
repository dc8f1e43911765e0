"""An app on the real test database, a trusted test issuer (RS256 JWKS file), and token helpers."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from register.settings import Settings
from tests.factories import create_organisation

ISSUER = "https://test.maskinporten.example/"
AUDIENCE = "https://kompetanseregisteret.no"
KID = "test-key-1"

READ, WRITE, STATS, ADMIN = "kompetanse:read", "kompetanse:write", "kompetanse:stats", "kompetanse:admin"
OOTS = "kompetanse:oots"
ALL_SCOPES = (READ, WRITE, STATS, ADMIN, OOTS)

Token = Callable[..., str]


@pytest.fixture(scope="session")
def issuer_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def jwks_file(issuer_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(issuer_key.public_key()))
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
    path = tmp_path_factory.mktemp("jwks") / "maskinporten.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return path


@pytest.fixture
def api_settings(database_url: str, jwks_file: Path, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        allow_synthetic_ids=True,
        environment="development",
        data_dir=tmp_path / "data",
        jwt_issuers=[ISSUER],
        jwks_files=[jwks_file],
        jwt_audience=AUDIENCE,
        max_upload_bytes=256 * 1024,
        suppression_threshold=3,
    )


@pytest.fixture
def app(db: Engine, api_settings: Settings) -> Iterator[FastAPI]:
    # The import pool lives with the app's lifespan (the client fixture starts and stops it).
    yield create_app(api_settings, engine=db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def claims(orgnr: str, scopes: tuple[str, ...] | list[str], **overrides: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "scope": " ".join(scopes),
        "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{orgnr}"},
        "client_id": f"client-{orgnr}",
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        "jti": str(uuid.uuid4()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def token(issuer_key: rsa.RSAPrivateKey) -> Token:
    """token(orgnr, *scopes, **claim overrides) → a signed RS256 token from the trusted test issuer."""

    def make(orgnr: str, *scopes: str, **overrides: Any) -> str:
        return jwt.encode(
            claims(orgnr, scopes, **overrides), issuer_key, algorithm="RS256", headers={"kid": KID}
        )

    return make


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def orgs(db: Engine) -> dict[str, str]:
    """Two fagskoler, each uploading for itself, and a portal and an analyst organisation."""
    own = create_organisation(db, name="Fagskolen Innlandet", kind="fagskole")
    other = create_organisation(db, name="Fagskolen Vestland", kind="fagskole")
    portal = create_organisation(db, name="Sikt (Vitnemålsportalen)", kind="other")
    analyst = create_organisation(db, name="Statistikkbyrå", kind="other")
    return {"own": own, "other": other, "portal": portal, "analyst": analyst}


def vocational_csv(
    fagskole: str, *students: str, rows: int = 3, grade: str = "B", prefix: str = "VM"
) -> bytes:
    """A vocational CSV delivery: per student a vitnemål with ``rows`` courses of 10 fagskolepoeng each."""
    header = (
        "fodselsnummer;fornavn;etternavn;fagskole_orgnr;utdanning_kode;utdanning_navn;nkr_niva;"
        "utdanning_fagskolepoeng;emnekode;emnenavn;fagskolepoeng;karakter;fullfort_dato;semester;"
        "resultat_id;vitnemal_id;vitnemal_dato"
    )
    lines = [header]
    for s, nin in enumerate(students):
        vitnemal = f"{prefix}-{s}"
        for i in range(rows):
            lines.append(
                f"{nin};Emil;Berg;{fagskole};ELKRAFT;Elkraft;5.1;120;EL-{101 + i};Emne {i};10;{grade};"
                f"2024-06-1{i % 9};2024V;R-{vitnemal}-{i};{vitnemal};2025-06-16"
            )
    return ("\n".join(lines) + "\n").encode()
