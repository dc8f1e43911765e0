"""Development tokens: Maskinporten-shaped JWTs signed by a local key.

In development the API trusts one extra issuer, ``DEV_ISSUER``, whose key is an ES256 key kept under the
data directory (created on first use, readable by the owner only). ``register token`` signs with it, so
a developer can call the API without a Maskinporten client. In production the API never trusts this
issuer (see ``api.auth.TokenVerifier.from_settings``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from register import datadir
from register.identifiers import is_valid_orgnr
from register.keyfiles import write_new_key
from register.scopes import Scope
from register.settings import Settings

DEV_ISSUER = "urn:kompetanseregisteret:development"
DEV_ALGORITHM = "ES256"
CONSUMER_AUTHORITY = "iso6523-actorid-upis"
ORGNR_PREFIX = "0192:"  # ISO 6523 ICD of the Norwegian Enhetsregisteret
MAX_EXPIRES_IN = 7 * 24 * 3600


class TokenRequestError(ValueError):
    """A development token cannot be issued as asked (unknown scope, invalid orgnr, bad lifetime)."""


def orgnr_of_consumer(consumer_id: object) -> str | None:
    """The organisasjonsnummer of a ``consumer.ID`` written exactly ``0192:<9 digits, mod-11>``, else None.

    Exactly: ``is_valid_orgnr`` forgives surrounding blanks (delivered files carry them), but
    ``"0192: 974760673"`` passed it and put a ten-character "orgnr" on the caller, which failed later
    as a 500. An identity claim is taken as written or refused.
    """
    if not isinstance(consumer_id, str) or not consumer_id.startswith(ORGNR_PREFIX):
        return None
    orgnr = consumer_id[len(ORGNR_PREFIX) :]
    return orgnr if is_exact_orgnr(orgnr) else None


def is_exact_orgnr(orgnr: str) -> bool:
    """A valid organisasjonsnummer with nothing around it (no blanks, no other characters)."""
    return len(orgnr) == 9 and is_valid_orgnr(orgnr)


def dev_key_path(settings: Settings) -> Path:
    return settings.dev_signing_key_path or settings.data_dir / "dev-token-key.pem"


def ensure_dev_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    """The development signing key, created (mode 0600) if it does not exist yet."""
    path = dev_key_path(settings)
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TokenRequestError(f"{path} does not hold an EC private key")
        return key
    if settings.dev_signing_key_path is None:
        datadir.require(settings, database=False)  # a key in a stray ./.register would sign refused tokens
    key = ec.generate_private_key(ec.SECP256R1())
    return key if write_new_key(path, key) else ensure_dev_key(settings)


def dev_jwks(settings: Settings) -> dict[str, Any]:
    """The public half of the development key as a JWKS document."""
    public = ensure_dev_key(settings).public_key()
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    jwk.update({"kid": _kid(settings), "alg": DEV_ALGORITHM, "use": "sig"})
    return {"keys": [jwk]}


def _kid(settings: Settings) -> str:
    public = ensure_dev_key(settings).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "dev-" + hashlib.sha256(der).hexdigest()[:16]


def issue_dev_token(
    settings: Settings,
    *,
    scopes: list[str],
    orgnr: str,
    expires_in: int = 3600,
    client_id: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A signed development token for ``orgnr`` with ``scopes`` (Maskinporten's claim layout)."""
    unknown = sorted(set(scopes) - set(Scope))
    if not scopes or unknown:
        raise TokenRequestError(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(Scope)}"
        )
    if not is_exact_orgnr(orgnr):
        raise TokenRequestError("--org must be a valid organisasjonsnummer (9 digits, mod-11)")
    if not 1 <= expires_in <= MAX_EXPIRES_IN:
        raise TokenRequestError(f"--expires-in must be between 1 and {MAX_EXPIRES_IN} seconds")
    if settings.environment != "development":
        raise TokenRequestError("development tokens are only trusted in development mode")
    issued = now or dt.datetime.now(dt.UTC)
    claims = {
        "iss": DEV_ISSUER,
        "aud": settings.jwt_audience,
        "scope": " ".join(dict.fromkeys(scopes)),
        "consumer": {"authority": CONSUMER_AUTHORITY, "ID": ORGNR_PREFIX + orgnr},
        "client_id": client_id or f"dev-{orgnr}",
        "token_type": "Bearer",
        "iat": issued,
        "exp": issued + dt.timedelta(seconds=expires_in),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(
        claims, ensure_dev_key(settings), algorithm=DEV_ALGORITHM, headers={"kid": _kid(settings)}
    )
