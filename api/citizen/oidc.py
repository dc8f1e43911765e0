"""The citizen login's OpenID Connect client (relying party): ID-porten in production.

Authorization code flow with PKCE (S256), ``state`` and ``nonce``, as ID-porten requires. Authlib does
the protocol (the authorization URL with its code challenge, the token request with client
authentication, the ID token's claims: ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``at_hash``) and
joserfc verifies the ID token's signature against the provider's JWKS; what is ID-porten's own is
checked here: the ``acr`` among the accepted levels and the national id in ``pid``.

Provider metadata and keys are fetched from the issuer's discovery document and kept for an hour; a
token signed by a key not seen yet makes one fresh fetch of the JWKS (ID-porten rotates its keys).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, cast

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from requests import RequestException

#: how long discovery and keys are kept before they are fetched again
METADATA_SECONDS = 3600
#: the back channel to the provider: ID-porten answers in well under a second
HTTP_TIMEOUT_SECONDS = 10


class LoginFailed(Exception):
    """A login that cannot complete: ``code`` is stable (docs/errors.md), ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    keys: KeySet
    fetched: float


@dataclass(frozen=True, slots=True)
class Identity:
    """Who logged in: the national id (never stored, logged or put in a URL) and how they did."""

    pid: str
    acr: str
    amr: list[str]


@dataclass(slots=True)
class OidcClient:
    client_id: str
    client_secret: str
    acr_values: str
    acr_accepted: list[str]
    leeway_seconds: int
    token_endpoint_auth_method: str = "client_secret_basic"  # ID-porten's default for a secret
    _metadata: dict[str, ProviderMetadata] | None = None
    _lock: threading.Lock | None = None

    def __post_init__(self) -> None:
        self._metadata = {}
        self._lock = threading.Lock()

    def _session(self, redirect_uri: str | None = None) -> OAuth2Session:
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            code_challenge_method="S256",
            redirect_uri=redirect_uri,
            scope="openid profile",
            default_timeout=HTTP_TIMEOUT_SECONDS,
        )

    def metadata(self, issuer: str, *, refresh: bool = False) -> ProviderMetadata:
        assert self._metadata is not None and self._lock is not None
        with self._lock:
            known = self._metadata.get(issuer)
        if known is not None and not refresh and time.monotonic() - known.fetched < METADATA_SECONDS:
            return known
        try:
            with self._session() as http:
                document = _json(
                    http.get(issuer.rstrip("/") + "/.well-known/openid-configuration", withhold_token=True)
                )
                if document.get("issuer") != issuer:
                    raise LoginFailed(
                        "citizen.login_provider_unavailable", "the identity provider names another issuer"
                    )
                keys = KeySet.import_key_set(
                    cast(Any, _json(http.get(document["jwks_uri"], withhold_token=True)))
                )
        except (RequestException, KeyError, ValueError, JoseError) as exc:
            raise LoginFailed(
                "citizen.login_provider_unavailable", f"the identity provider could not be reached: {exc}"
            ) from None
        found = ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=document["authorization_endpoint"],
            token_endpoint=document["token_endpoint"],
            jwks_uri=document["jwks_uri"],
            end_session_endpoint=document.get("end_session_endpoint"),
            keys=keys,
            fetched=time.monotonic(),
        )
        with self._lock:
            self._metadata[issuer] = found
        return found

    def authorization_url(
        self, issuer: str, redirect_uri: str, *, state: str, nonce: str, code_verifier: str, locale: str
    ) -> str:
        meta = self.metadata(issuer)
        with self._session(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                meta.authorization_endpoint,
                state=state,
                nonce=nonce,
                code_verifier=code_verifier,
                acr_values=self.acr_values,
                ui_locales=locale,
            )
        return str(url)

    def finish(
        self, issuer: str, redirect_uri: str, *, code: str, code_verifier: str, nonce: str
    ) -> Identity:
        """Exchange the code (with the PKCE verifier) and check the ID token; LoginFailed if anything fails."""
        meta = self.metadata(issuer)
        try:
            with self._session(redirect_uri) as oauth:
                token = oauth.fetch_token(
                    meta.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
        except (AuthlibBaseError, RequestException, ValueError) as exc:
            # invalid_grant covers a used or expired code and a verifier that does not fit (PKCE)
            raise LoginFailed(
                "citizen.login_token_refused", f"the identity provider refused the login: {exc}"
            ) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise LoginFailed("citizen.login_id_token_invalid", "the identity provider sent no ID token")
        claims = self._verified_claims(meta, id_token, nonce, token.get("access_token"))
        acr = claims.get("acr")
        if acr not in self.acr_accepted:
            raise LoginFailed(
                "citizen.login_acr_too_low",
                f"the login's level of assurance ({acr}) is below what the register requires",
            )
        pid = claims.get("pid")
        if not isinstance(pid, str):
            raise LoginFailed("citizen.login_id_token_invalid", "the ID token has no pid claim")
        amr = claims.get("amr")
        return Identity(pid=pid, acr=str(acr), amr=[str(a) for a in amr] if isinstance(amr, list) else [])

    def _verified_claims(
        self, meta: ProviderMetadata, id_token: str, nonce: str, access_token: Any
    ) -> CodeIDToken:
        try:
            try:
                decoded = jose_jwt.decode(id_token, meta.keys, algorithms=["RS256"])
            except JoseError:
                # Perhaps a key the provider rotated in since we fetched: fetch once more, then give up.
                meta = self.metadata(meta.issuer, refresh=True)
                decoded = jose_jwt.decode(id_token, meta.keys, algorithms=["RS256"])
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                options={
                    "iss": {"essential": True, "value": meta.issuer},
                    "aud": {"essential": True, "value": self.client_id},
                },
                params={"nonce": nonce, "client_id": self.client_id, "access_token": access_token},
            )
            claims.validate(leeway=self.leeway_seconds)
        except (JoseError, ValueError) as exc:
            raise LoginFailed(
                "citizen.login_id_token_invalid", f"the ID token was refused: {_describe(exc)}"
            ) from None
        return claims

    def end_session_url(self, issuer: str) -> str | None:
        try:
            return self.metadata(issuer).end_session_endpoint
        except LoginFailed:
            return None


def _json(response: Any) -> dict[str, Any]:
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def _describe(exc: Exception) -> str:
    # joserfc's messages name the claim ("invalid_claim: Invalid claim: 'nonce'"), never its value.
    return str(exc) or type(exc).__name__
