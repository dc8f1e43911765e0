"""A local OpenID Connect provider shaped like ID-porten: a development and test stand-in only.

It speaks the protocol the citizen login uses against ID-porten — discovery, JWKS, the authorization
code flow with PKCE (S256 only), ``state`` and ``nonce``, RS256-signed ID tokens carrying ``pid`` (the
national id), ``acr`` and ``amr`` — and lets a developer type the synthetic national id to log in
as. ``create_app`` mounts it at ``/test-idp`` only when ``Settings.test_idp_enabled`` (development,
never production) and imports this module only then.

Non-interactive use (automated tests, scripts): GET the authorization URL the register redirects to
(it answers with the form and a CSRF cookie), then POST the form's fields back with ``pid`` (and
optionally ``acr``) to ``/test-idp/authorize``; the answer is the redirect to the register's callback.
The national id goes in the POST body only, never in a URL. docs/citizen.md shows it step by step.

Its key is created under the data directory (register.keyfiles) and its codes live in memory: one
server process, as ``make run`` starts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from register.identifiers import InvalidNin, parse_nin
from register.keyfiles import write_new_key

PREFIX = "/test-idp"
#: the client the register is registered as with the test IdP (the secret is made per server start)
CLIENT_ID = "kompetanseregisteret-dev"
#: ID-porten's levels of assurance, as the form offers them (low is there to see a refusal)
LEVELS = ("idporten-loa-substantial", "idporten-loa-high", "idporten-loa-low")
#: an authorization code is used at once by the register; ID-porten's live 60 seconds too
CODE_SECONDS = 60
ID_TOKEN_SECONDS = 120
CSRF_COOKIE = "test_idp_csrf"

_templates = Environment(
    loader=PackageLoader("api.test_idp", "templates"), autoescape=select_autoescape(default=True)
)


@dataclass(frozen=True, slots=True)
class _Grant:
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    pid: str
    acr: str
    expires: float


@dataclass(slots=True)
class TestIdentityProvider:
    key_dir: Path  # the data directory: its key is made there on first use, not when the app is built
    client_secret: str
    allow_synthetic: bool
    #: claims the next ID tokens get on top of their own (tests: a wrong nonce, an expired token)
    overrides: dict[str, Any] = field(default_factory=dict)
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _key: rsa.RSAPrivateKey | None = None

    @property
    def key(self) -> rsa.RSAPrivateKey:
        if self._key is None:
            self._key = load_key(self.key_dir)
        return self._key

    @property
    def kid(self) -> str:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return "test-idp-" + hashlib.sha256(der).hexdigest()[:16]

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    def issue_code(self, grant: _Grant) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            for stale in [c for c, g in self._codes.items() if g.expires < now]:
                del self._codes[stale]
            self._codes[code] = grant
        return code

    def redeem(self, code: str) -> _Grant | None:
        """The grant of a code, once: a code is gone after its first use, used well or not."""
        with self._lock:
            grant = self._codes.pop(code, None)
        if grant is None or grant.expires < time.monotonic():
            return None
        return grant

    def id_token(self, issuer: str, grant: _Grant, access_token: str) -> str:
        now = int(time.time())
        digest = hashlib.sha256(access_token.encode()).digest()
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": CLIENT_ID,
            # ID-porten's sub is a pairwise pseudonym per client, never the national id
            "sub": base64.urlsafe_b64encode(hashlib.sha256(f"{CLIENT_ID}:{grant.pid}".encode()).digest())
            .decode()
            .rstrip("="),
            "pid": grant.pid,
            "acr": grant.acr,
            "amr": ["TestID"],
            "iat": now,
            "exp": now + ID_TOKEN_SECONDS,
            "auth_time": now,
            "sid": str(uuid.uuid4()),
            "locale": "nb",
            "at_hash": base64.urlsafe_b64encode(digest[:16]).decode().rstrip("="),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name, value in self.overrides.items():
            if name == "exp_offset":
                claims["exp"] = now + int(value)
                claims["iat"] = claims["auth_time"] = now + int(value) - ID_TOKEN_SECONDS
            else:
                claims[name] = value
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def load_key(data_dir: Path) -> rsa.RSAPrivateKey:
    """The test IdP's RSA key under the data directory, made (mode 0600) on first use."""
    path = data_dir / "test-idp-key.pem"
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise RuntimeError(f"{path} does not hold an RSA private key")
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key if write_new_key(path, key) else load_key(data_dir)


def issuer_of(request: Request) -> str:
    """The issuer is this server as the request reached it (any host and port ``make run`` uses)."""
    return str(request.base_url).rstrip("/") + PREFIX


def router(idp: TestIdentityProvider) -> APIRouter:
    routes = APIRouter(prefix=PREFIX, include_in_schema=False)

    @routes.get("/.well-known/openid-configuration")
    def discovery(request: Request) -> dict[str, Any]:
        issuer = issuer_of(request)
        return {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "jwks_uri": issuer + "/jwks",
            "end_session_endpoint": issuer + "/endsession",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "acr_values_supported": list(LEVELS[:2]),
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["pid", "acr", "amr", "sid", "locale", "nonce"],
        }

    @routes.get("/jwks")
    def jwks() -> dict[str, Any]:
        return idp.jwks()

    @routes.get("/authorize")
    def authorize_form(request: Request) -> Response:
        params = dict(request.query_params)
        problem = _check_request(request, params)
        if problem:
            return _error_page(problem)
        csrf = secrets.token_urlsafe(16)
        page = _templates.get_template("pick.html").render(
            params={k: params[k] for k in _FORWARDED if k in params},
            csrf=csrf,
            levels=LEVELS,
            wanted_acr=params.get("acr_values", LEVELS[0]),
        )
        response = HTMLResponse(page, headers=_HEADERS)
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path=PREFIX)
        return response

    @routes.post("/authorize")
    async def authorize(request: Request) -> Response:
        form = await request.form()
        params = {k: str(v) for k, v in form.items()}
        problem = _check_request(request, params)
        if problem:
            return _error_page(problem)
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, params.get("csrf", "")):
            return _error_page("the form has expired or came from elsewhere: start the login again")
        try:
            pid = parse_nin(params.get("pid", "").strip(), allow_synthetic=idp.allow_synthetic).value
        except InvalidNin:
            return _error_page("not a valid (synthetic) national identity number")
        acr = params.get("acr") or LEVELS[0]
        if acr not in LEVELS:
            return _error_page("unknown level of assurance")
        code = idp.issue_code(
            _Grant(
                redirect_uri=params["redirect_uri"],
                code_challenge=params["code_challenge"],
                nonce=params.get("nonce"),
                pid=pid,
                acr=acr,
                expires=time.monotonic() + CODE_SECONDS,
            )
        )
        answer = {"code": code, "state": params.get("state", ""), "iss": issuer_of(request)}
        response = RedirectResponse(params["redirect_uri"] + "?" + urlencode(answer), status_code=303)
        response.delete_cookie(CSRF_COOKIE, path=PREFIX)
        return response

    @routes.post("/token")
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, secret = _client_credentials(request, form)
        if client_id != CLIENT_ID or not hmac.compare_digest(secret, idp.client_secret):
            return _token_error("invalid_client", 401)
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type")
        grant = idp.redeem(form.get("code", ""))
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return _token_error("invalid_grant")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if not verifier or not hmac.compare_digest(challenge, grant.code_challenge):
            return _token_error("invalid_grant")  # PKCE: the verifier does not fit the challenge
        access_token = secrets.token_urlsafe(32)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": ID_TOKEN_SECONDS,
                "scope": "openid profile",
                "id_token": idp.id_token(issuer_of(request), grant, access_token),
            },
            headers={"Cache-Control": "no-store"},
        )

    @routes.get("/endsession")
    def end_session(request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri", "")
        if not _same_origin(request, target):
            return _error_page("unknown post_logout_redirect_uri")
        return RedirectResponse(target, status_code=303)

    return routes


_FORWARDED = (
    "client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
    "code_challenge", "code_challenge_method", "acr_values", "ui_locales",
)  # fmt: skip
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


def _same_origin(request: Request, url: str) -> bool:
    target, own = urlsplit(url), urlsplit(str(request.base_url))
    return (target.scheme, target.netloc) == (own.scheme, own.netloc)


def _check_request(request: Request, params: dict[str, str]) -> str | None:
    """What is wrong with an authorization request, in words; None if nothing."""
    if params.get("client_id") != CLIENT_ID:
        return "unknown client_id"
    redirect = params.get("redirect_uri", "")
    # The register is the only client: its callback on this same server is the one registered address.
    if not _same_origin(request, redirect) or urlsplit(redirect).path != "/me/login/callback":
        return "redirect_uri is not registered for this client"
    if params.get("response_type") != "code":
        return "response_type must be code"
    if "openid" not in params.get("scope", "").split():
        return "scope must include openid"
    if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
        return "PKCE with S256 is required"
    if not params.get("state"):
        return "state is required"
    return None


def _error_page(message: str) -> Response:
    page = _templates.get_template("error.html").render(message=message)
    return HTMLResponse(page, status_code=400, headers=_HEADERS)


def _token_error(error: str, status: int = 400) -> Response:
    return JSONResponse({"error": error}, status_code=status, headers={"Cache-Control": "no-store"})


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return "", ""
        return unquote_plus(user), unquote_plus(password)
    return form.get("client_id", ""), form.get("client_secret", "")
