"""Who is looking at the dashboard: the analyst's own access token, kept in a cookie or sent by a proxy.

A browser cannot add ``Authorization: Bearer`` to a page request, so the dashboard keeps the analyst's
token in a cookie of its own — the same token the API takes, verified by the same ``TokenVerifier``
on every page, holding the same scope (``kompetanse:stats``). There is no second kind of credential and
no session store: the cookie is the token, and it lives no longer than the token does.

- **Production**: the analyst pastes an access token their organisation obtained from Maskinporten
  (scope ``kompetanse:stats``) into the sign-in form; or a reverse proxy in front of the register
  signs the analyst in with the organisation's own login and sends ``Authorization: Bearer`` with
  each request to ``/dashboard``, which the dashboard reads before the cookie (docs/dashboard.md).
- **Development** (``REGISTER_ENVIRONMENT=development``, as ``make run``): a button signs in as a demo
  analyst organisation with a development token (``register.tokens.issue_dev_token``), which only a
  development register trusts. In production the button is not shown and its route answers 404.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends it),
limited to ``/dashboard``, and ``Secure`` outside development. The sign-in forms also refuse a POST
whose ``Origin`` is another site's, so no other page can sign a browser in with a token of its choosing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from fastapi import Request, Response

from api.auth import AuthError, Principal, TokenVerifier
from register.scopes import Scope
from register.settings import Settings
from register.tokens import issue_dev_token

COOKIE = "kr_dashboard_token"
COOKIE_PATH = "/dashboard"
#: the demo analyst organisation of development sign-in (a valid synthetic organisasjonsnummer, 9xx)
DEMO_ANALYST_ORGNR = "999999999"
#: a working day: the development token's lifetime, and so the development session's
DEV_SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True, slots=True)
class Viewer:
    """A verified analyst: the principal and the token the dashboard asks the API with."""

    principal: Principal
    token: str
    from_cookie: bool


class SignInRefused(Exception):
    """The token cannot open the dashboard; ``reason`` is the text key of the page's message."""

    def __init__(self, reason: str, detail: str = "", status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.status = status


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


def presented_token(request: Request) -> tuple[str, bool] | None:
    """The bearer token of a proxy's ``Authorization`` header, else the cookie's: (token, from cookie)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else None


def verify(request: Request, token: str, *, from_cookie: bool) -> Viewer:
    """The analyst holding ``token``, who must hold the statistics scope; else ``SignInRefused``."""
    try:
        principal = _verifier(request).verify(token)
    except AuthError as exc:
        if from_cookie and exc.code == "token.expired":
            raise SignInRefused("error_expired") from None
        raise SignInRefused("error_token", exc.message) from None
    if not principal.has(Scope.STATS):
        raise SignInRefused("error_scope", status=403)
    return Viewer(principal, token, from_cookie)


def current_viewer(request: Request) -> Viewer | None:
    """The analyst of this request, or None when no token is presented (``SignInRefused`` if one is bad)."""
    presented = presented_token(request)
    if presented is None:
        return None
    token, from_cookie = presented
    return verify(request, token, from_cookie=from_cookie)


def same_origin(request: Request) -> bool:
    """A form POST from our own pages, by what the browser says of where it came from.

    ``Sec-Fetch-Site`` where the browser sends it (every current one does), else ``Origin``; a client
    that sends neither is no browser on another site's page (and the cookie is ``SameSite=Strict``).
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host")


def start_session(response: Response, token: str, settings: Settings) -> None:
    """Keep ``token`` (already verified) in the dashboard's cookie until the token itself expires."""
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
    max_age = max(0, int(expires - time.time())) if isinstance(expires, int | float) else 3600
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.environment != "development",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def development_token(settings: Settings) -> str:
    """A development stats token for the demo analyst organisation (refused outside development)."""
    return issue_dev_token(
        settings,
        scopes=[Scope.STATS],
        orgnr=DEMO_ANALYST_ORGNR,
        expires_in=DEV_SESSION_SECONDS,
        client_id="dashboard-demo-analyst",
    )
