"""Logging in and out: the authorization code flow against ID-porten (or the test IdP in development).

``/me/login/start`` keeps state, nonce and the PKCE verifier in a new server-side session and sends
the browser to the provider; ``/me/login/callback`` checks the state, exchanges the code and checks
the ID token (api/citizen/oidc.py), then replaces the login's session with a new one holding the
person's internal id. The national id from ``pid`` is used for one look-up and dropped: it is never
stored in the session, put in a URL or logged.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.citizen.oidc import LoginFailed, OidcClient
from api.citizen.web import (
    clear_session_cookie,
    cookie_name,
    csrf_ok,
    csrf_refused,
    current_session,
    error_page,
    language,
    render,
    set_session_cookie,
    settings_of,
)
from api.deps import UnitOfWork
from register import audit, sessions
from register.errors import NotFound, RegisterError
from register.persons import person_id_by_nin

router = APIRouter(include_in_schema=False)

CALLBACK_PATH = "/me/login/callback"
#: PKCE's verifier: 43 to 128 characters (RFC 7636); 48 random bytes make 64
VERIFIER_BYTES = 48

IssuerOf = Callable[[Request], str | None]


def _client(request: Request) -> OidcClient | None:
    client: OidcClient | None = request.app.state.citizen_oidc
    return client


def _issuer(request: Request) -> str | None:
    issuer_of: IssuerOf = request.app.state.citizen_issuer
    return issuer_of(request)


def _redirect_uri(request: Request) -> str:
    configured = settings_of(request).citizen_oidc_redirect_uri
    return configured or str(request.base_url).rstrip("/") + CALLBACK_PATH


def _failed(request: Request, failure: LoginFailed | RegisterError) -> Response:
    status = 503 if failure.code == "citizen.login_provider_unavailable" else 400
    response = error_page(request, status, failure.code, failure.message)
    clear_session_cookie(request, response)
    return response


@router.get("/me/login")
def login_page(request: Request, conn: UnitOfWork) -> Response:
    session = current_session(request, conn)
    if session is not None and session.logged_in:
        return RedirectResponse("/me", status_code=303)
    return render(request, "login.html", logged_out=request.query_params.get("logged_out") == "1")


@router.get("/me/login/start")
def login_start(request: Request, conn: UnitOfWork) -> Response:
    client, issuer = _client(request), _issuer(request)
    if client is None or issuer is None:
        return _failed(
            request,
            LoginFailed("citizen.login_not_configured", "citizen login is not configured on this server"),
        )
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(VERIFIER_BYTES)
    redirect_uri = _redirect_uri(request)
    try:
        url = client.authorization_url(
            issuer, redirect_uri, state=state, nonce=nonce, code_verifier=verifier, locale=language(request)
        )
    except LoginFailed as failure:
        return _failed(request, failure)
    token, _ = sessions.start_login(
        conn,
        {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "issuer": issuer,
            "redirect_uri": redirect_uri,
            "next": return_path(request.query_params.get("next")),
        },
    )
    response = RedirectResponse(url, status_code=303)
    set_session_cookie(request, response, token, max_age=sessions.LOGIN_MINUTES * 60)
    return response


@router.get(CALLBACK_PATH)
def login_callback(request: Request, conn: UnitOfWork) -> Response:
    session = current_session(request, conn)
    token = request.cookies.get(cookie_name(request), "")
    if session is None or session.login is None:
        return _failed(
            request,
            LoginFailed(
                "citizen.login_expired", "the login took too long or was started elsewhere: log in again"
            ),
        )
    login = session.login
    # A login's state is used once, whatever happens next.
    sessions.end(conn, token)
    params = request.query_params
    if not hmac.compare_digest(params.get("state", ""), login["state"]):
        return _failed(
            request, LoginFailed("citizen.login_state_mismatch", "the login answer does not match")
        )
    if "error" in params or "code" not in params:
        return _failed(request, LoginFailed("citizen.login_cancelled", "the login was cancelled or refused"))
    client = _client(request)
    assert client is not None  # the login started, so the client was configured
    try:
        identity = client.finish(
            login["issuer"],
            login["redirect_uri"],
            code=params["code"],
            code_verifier=login["verifier"],
            nonce=login["nonce"],
        )
    except LoginFailed as failure:
        return _failed(request, failure)
    settings = settings_of(request)
    try:
        person_id: uuid.UUID | None = person_id_by_nin(
            conn, identity.pid, allow_synthetic=settings.synthetic_ids_allowed
        )
    except NotFound:
        person_id = None  # logged in; the register holds nothing about this person
    except RegisterError as invalid:
        return _failed(request, LoginFailed("citizen.login_pid_invalid", invalid.message))
    new_token, _ = sessions.complete_login(
        conn, token, person_id, idle_minutes=settings.citizen_session_idle_minutes
    )
    if person_id is not None:
        audit.record_event(
            conn,
            action="citizen.login",
            person_id=person_id,
            request_id=getattr(request.state, "request_id", None),
            details={"acr": identity.acr, "amr": identity.amr},
        )
    response = RedirectResponse(login.get("next") or "/me", status_code=303)
    set_session_cookie(request, response, new_token, max_age=settings.citizen_session_max_minutes * 60)
    return response


#: where a login may send the browser back to: the register's own pages for the person (an OOTS
#: preview starts its login with ``next``), never another site (an open redirect)
RETURN_PREFIXES = ("/me", "/oots/preview/")


def return_path(raw: str | None) -> str | None:
    """``raw`` if it is one of the register's own person pages, as a path; else None (then ``/me``)."""
    if not raw or not raw.startswith(RETURN_PREFIXES) or "//" in raw or "\\" in raw or len(raw) > 300:
        return None
    if any(ord(c) < 33 or ord(c) > 126 for c in raw):
        return None
    return raw


@router.post("/me/logout")
async def logout(request: Request, conn: UnitOfWork) -> Response:
    form = await request.form()
    session = current_session(request, conn)
    if session is None:
        return RedirectResponse("/me/login?logged_out=1", status_code=303)
    if not csrf_ok(session, form.get("csrf")):
        return csrf_refused(request)
    sessions.end(conn, request.cookies.get(cookie_name(request), ""))
    target = "/me/login?logged_out=1"
    client, issuer = _client(request), _issuer(request)
    end_session = client.end_session_url(issuer) if client is not None and issuer is not None else None
    if end_session is not None and client is not None:
        # RP-initiated logout: the provider ends its own session too, then sends the browser back.
        back = str(request.base_url).rstrip("/") + target
        target = (
            end_session + "?" + urlencode({"client_id": client.client_id, "post_logout_redirect_uri": back})
        )
    response = RedirectResponse(target, status_code=303)
    clear_session_cookie(request, response)
    return response
