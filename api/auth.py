"""Authentication and authorisation: Maskinporten-shaped bearer JWTs.

A token is trusted when its issuer is configured (``REGISTER_JWT_ISSUERS`` paired by position with
``REGISTER_JWKS_FILES``), its signature verifies with a key of that issuer's JWKS under an asymmetric
algorithm, its audience is ours, and it is inside its lifetime (with ``REGISTER_JWT_LEEWAY_SECONDS`` of
clock skew). The caller is then a ``Principal``: client id, organisation number (from
``consumer.ID`` = ``0192:<orgnr>``) and scopes. ``TokenVerifier`` has no HTTP in it, so the GraphQL
layer uses it as it is; the FastAPI dependencies at the bottom turn failures into 401/403 problems.

Why the algorithm is pinned before anything is decoded: ``alg: none`` and HMAC algorithms are refused
outright, so a public key can never be used as an HMAC secret (the classic key-confusion attack), and
the key's own ``alg`` (when the JWKS names one) must agree with the token's header.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from register.settings import Settings
from register.tokens import CONSUMER_AUTHORITY, DEV_ISSUER, dev_jwks, orgnr_of_consumer

ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_TOKEN_LENGTH = 16 * 1024


class AuthError(Exception):
    """The token is not acceptable; ``code`` is stable (``token.*``), ``message`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller."""

    client_id: str
    orgnr: str
    scopes: frozenset[str]
    issuer: str
    token_id: str | None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def scope_text(self) -> str:
        return " ".join(sorted(self.scopes))


class TokenVerifier:
    """Verifies bearer tokens against the keys of the trusted issuers.

    A token that verified is remembered (by its sha256, at most ``cache_size`` of them) until its
    ``exp`` — never past it, so the leeway is granted only by a full verification again. A service
    sends the same token for its whole lifetime, and verifying the signature is the dearest part of
    a look-up's authentication. Nothing else about a token changes while it lives: the issuers and
    their keys are fixed for the verifier's lifetime, ``nbf``/``iat`` only ever become true, and a
    token that failed is never remembered.
    """

    def __init__(
        self,
        issuers: Mapping[str, list[IssuerKey]],
        *,
        audience: str,
        leeway_seconds: int,
        cache_size: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = dict(issuers)
        self._audience = audience
        self._leeway = leeway_seconds
        self._cache_size = cache_size
        self._clock = clock
        self._verified: dict[bytes, tuple[Principal, float]] = {}  # sha256(token) -> (caller, exp)
        self._cache_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        """Issuers from configuration; in development also the local development issuer."""
        if len(settings.jwt_issuers) != len(settings.jwks_files):
            raise ValueError(
                "REGISTER_JWT_ISSUERS and REGISTER_JWKS_FILES must list the same number of entries"
                " (the n-th JWKS file holds the keys of the n-th issuer)"
            )
        issuers = {
            issuer: _load_jwks(path)
            for issuer, path in zip(settings.jwt_issuers, settings.jwks_files, strict=True)
        }
        if settings.environment == "development":
            issuers[DEV_ISSUER] = parse_jwks(dev_jwks(settings))
        return cls(issuers, audience=settings.jwt_audience, leeway_seconds=settings.jwt_leeway_seconds)

    @property
    def issuers(self) -> frozenset[str]:
        return frozenset(self._issuers)

    def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("token.malformed", "the bearer token is too long")
        key = hashlib.sha256(token.encode()).digest()
        remembered = self._verified.get(key)
        if remembered is not None and self._clock() < remembered[1]:
            return remembered[0]
        principal, expires = self._verify(token)
        self._remember(key, principal, expires)
        return principal

    def _remember(self, key: bytes, principal: Principal, expires: float) -> None:
        if self._cache_size <= 0:
            return
        with self._cache_lock:
            if len(self._verified) >= self._cache_size:
                now = self._clock()
                for stale in [k for k, (_, exp) in self._verified.items() if exp <= now]:
                    del self._verified[stale]
                while len(self._verified) >= self._cache_size:  # the oldest entry goes first
                    del self._verified[next(iter(self._verified))]
            self._verified[key] = (principal, expires)

    def _verify(self, token: str) -> tuple[Principal, float]:
        """The full verification: the caller and the token's ``exp`` (seconds since the epoch)."""
        try:
            header = jwt.get_unverified_header(token)
            _check_header(header)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:  # DecodeError and the header checks PyJWT makes (kid, crit)
            raise AuthError("token.malformed", "the bearer token is not a well-formed JWT") from None
        alg = header["alg"]
        if alg not in ALLOWED_ALGORITHMS:
            raise AuthError(
                "token.algorithm_not_allowed",
                f"tokens must be signed with an asymmetric algorithm ({', '.join(sorted(ALLOWED_ALGORITHMS))})",
            )
        issuer = unverified.get("iss")
        keys = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if keys is None or not isinstance(issuer, str):
            raise AuthError("token.unknown_issuer", "the token's issuer is not trusted by this register")
        key = _select_key(keys, header.get("kid"))
        if (key.alg and key.alg != alg) or not alg.startswith(_FAMILIES[key.kty]):
            raise AuthError(
                "token.algorithm_not_allowed", "the token's algorithm does not fit the issuer key"
            )
        claims = self._decode(token, key, alg, issuer)
        # Required and checked as a number by jwt.decode, so it is one here.
        return _principal(claims, issuer), float(claims["exp"])

    def _decode(self, token: str, key: IssuerKey, alg: str, issuer: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key.key,
                algorithms=[alg],
                audience=self._audience,
                issuer=issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token.expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError(
                "token.not_yet_valid", "the token is not valid yet (iat or nbf in the future)"
            ) from None
        except jwt.InvalidAudienceError:
            raise AuthError("token.wrong_audience", "the token was issued for another audience") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError("token.missing_claim", f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthError("token.bad_signature", "the token's signature does not verify") from None
        except (jwt.InvalidKeyError, jwt.InvalidAlgorithmError):
            raise AuthError(
                "token.algorithm_not_allowed", "the token's algorithm does not fit the issuer's key"
            ) from None
        except jwt.InvalidTokenError:
            raise AuthError("token.invalid", "the token is not valid") from None
        return claims


def _check_header(header: Mapping[str, Any]) -> None:
    """Refuse a JOSE header this register does not use before anything reads it.

    Each of these shapes reached code that assumed a string and answered 500 with a traceback (20
    requests of 40 bytes wrote 1 760 log lines): ``alg`` as a list or object (unhashable in the
    allow-list test), ``kid`` as a number or null. ``crit`` names extensions a verifier must understand
    or refuse — Maskinporten uses none, so any is refused — and ``b64: false`` (RFC 7797) would have
    the payload read unencoded, which no issuer of ours does.
    """
    if not isinstance(header.get("alg"), str):
        raise jwt.InvalidTokenError("the alg header must be a string")
    if "kid" in header and not isinstance(header["kid"], str):
        raise jwt.InvalidTokenError("the kid header must be a string")
    if "crit" in header or "b64" in header:
        raise jwt.InvalidTokenError("critical and unencoded-payload headers are not accepted")


# Which token algorithms each key type may verify (the JWK ``kty``).
_FAMILIES = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}


@dataclass(frozen=True, slots=True)
class IssuerKey:
    kid: str | None
    kty: str
    alg: str | None  # as the JWKS declares it; None: any algorithm of the key's family
    key: jwt.PyJWK


def parse_jwks(document: Mapping[str, Any]) -> list[IssuerKey]:
    """The public keys of a JWKS document; symmetric (``oct``) and unknown key types are refused."""
    entries = document.get("keys")
    if not isinstance(entries, list) or not entries:
        raise ValueError("a JWKS document needs a non-empty 'keys' list")
    keys = []
    for entry in entries:
        kty = entry.get("kty") if isinstance(entry, dict) else None
        if kty not in _FAMILIES:
            raise ValueError(f"JWKS key type {kty!r} is not accepted (only RSA, EC and OKP public keys)")
        if "d" in entry:
            raise ValueError("a JWKS for verification must hold public keys only")
        alg = entry.get("alg")
        if alg is not None and alg not in ALLOWED_ALGORITHMS:
            raise ValueError(f"JWKS key algorithm {alg!r} is not accepted")
        keys.append(IssuerKey(kid=entry.get("kid"), kty=kty, alg=alg, key=jwt.PyJWK.from_dict(entry)))
    return keys


def _load_jwks(path: Path) -> list[IssuerKey]:
    try:
        return parse_jwks(json.loads(path.read_text()))
    except (OSError, ValueError, jwt.PyJWKError) as exc:
        raise ValueError(f"cannot read the JWKS file {path}: {exc}") from exc


def _select_key(keys: list[IssuerKey], kid: object) -> IssuerKey:
    if isinstance(kid, str):
        for key in keys:
            if key.kid == kid:
                return key
        raise AuthError("token.unknown_key", "the token's key id is not among the issuer's keys")
    if len(keys) == 1:
        return keys[0]
    raise AuthError("token.unknown_key", "the token names no key id and the issuer has several keys")


def _principal(claims: Mapping[str, Any], issuer: str) -> Principal:
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise AuthError("token.invalid_claims", "the scope claim must be a space-separated string")
    consumer = claims.get("consumer")
    consumer_id = consumer.get("ID") if isinstance(consumer, dict) else None
    orgnr = orgnr_of_consumer(consumer_id)
    if not isinstance(consumer, dict) or consumer.get("authority") != CONSUMER_AUTHORITY or orgnr is None:
        raise AuthError(
            "token.invalid_claims",
            f"the consumer claim must be {{'authority': '{CONSUMER_AUTHORITY}', 'ID': '0192:<orgnr>'}}",
        )
    client_id = claims.get("client_id")
    jti = claims.get("jti")
    # Both are written to audit rows and logs: printable text of sane length, or the token is refused.
    for name, value in (("client_id", client_id), ("jti", jti)):
        if value is not None and not (isinstance(value, str) and len(value) <= 256 and value.isprintable()):
            raise AuthError(
                "token.invalid_claims", f"the {name} claim must be printable text of at most 256 characters"
            )
    return Principal(
        client_id=client_id if isinstance(client_id, str) else "unknown",
        orgnr=orgnr,
        scopes=frozenset(scope.split()),
        issuer=issuer,
        token_id=jti if isinstance(jti, str) else None,
    )


# --- FastAPI dependencies -------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="A Maskinporten access token (or `register token`)")


def current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None:
        raise ApiError(
            401,
            "auth.missing_token",
            "send an access token: Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="kompetanseregisteret"'},
        )
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = verifier.verify(credentials.credentials)
    except AuthError as exc:
        raise ApiError(
            401,
            exc.code,
            exc.message,
            headers={"WWW-Authenticate": 'Bearer realm="kompetanseregisteret", error="invalid_token"'},
        ) from None
    request.state.principal = principal
    return principal


async def _current_principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """``current_principal`` as a dependency on the event loop: FastAPI runs a plain function on the
    thread pool, a hop every request would pay (the check is a cache hit, or a signature check of
    ~0.1 ms for a token not seen before)."""
    return current_principal(request, credentials)


def require_scope(*any_of: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, who must hold at least one of ``any_of``; else 403 ``auth.missing_scope``."""

    async def dependency(principal: Principal = Depends(_current_principal)) -> Principal:
        if not principal.scopes & set(any_of):
            raise ApiError(
                403,
                "auth.missing_scope",
                f"this operation needs the scope {' or '.join(any_of)}",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(any_of)}"'
                },
            )
        return principal

    # Read by the OpenAPI document (api/openapi): the operation's security requirements.
    dependency.required_scopes = tuple(any_of)  # type: ignore[attr-defined]
    return dependency
