"""What every citizen page shares: templates, language, security headers, the session cookie, CSRF.

The session cookie is HttpOnly, SameSite=Lax and, when the page is served over https, Secure with the
``__Host-`` prefix (bound to this host and path ``/``). Lax rather than Strict: the identity provider
sends the browser back to the callback by a cross-site redirect, which must carry the cookie of the
login under way. Every form that changes something carries the session's CSRF token, compared in
constant time with the one kept server-side (register.sessions).
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Connection
from starlette.datastructures import FormData

from api.citizen.texts import LANGUAGES, text_for
from register import sessions
from register.settings import Settings

LANGUAGE_COOKIE = "lang"
LOGIN_PATH = "/me/login"

templates = Environment(
    loader=PackageLoader("api.citizen", "templates"), autoescape=select_autoescape(default=True)
)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request) -> str:
    return "__Host-kr_session" if is_https(request) else "kr_session"


def language(request: Request) -> str:
    """The page's language: ``?lang=`` (the switch on every page), else the cookie it set, else bokmål."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    return chosen if chosen in LANGUAGES else "nb"


def security_headers(request: Request) -> dict[str, str]:
    # form-action also names the identity provider: logging out ends with a redirect to it, and
    # Chromium holds a form's redirects to form-action.
    issuer = getattr(request.app.state, "citizen_issuer_origin", "")
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' {issuer}"
        ).strip(),
        # A share link's secret is in its URL: no page may send it on as a Referer.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    session: sessions.Session | None = None,
    **values: Any,
) -> HTMLResponse:
    lang = language(request)
    page = templates.get_template(template).render(
        t=lambda key: text_for(key, lang),
        lang=lang,
        path=request.url.path,
        session=session,
        csrf=session.csrf_token if session is not None else "",
        **values,
    )
    response = HTMLResponse(page, status_code=status, headers=security_headers(request))
    if request.query_params.get("lang") in LANGUAGES:
        # A year: the choice is kept until changed (the cookie holds nothing but "nb" or "en").
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=is_https(request)
        )
    return response


def error_page(request: Request, status: int, code: str, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, code=code, message=message)


def set_session_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(request),
        token,
        max_age=max_age,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        cookie_name(request), path="/", secure=is_https(request), httponly=True, samesite="lax"
    )


def current_session(request: Request, conn: Connection) -> sessions.Session | None:
    token = request.cookies.get(cookie_name(request))
    if not token:
        return None
    settings = settings_of(request)
    return sessions.load(
        conn,
        token,
        idle_minutes=settings.citizen_session_idle_minutes,
        longest_minutes=settings.citizen_session_max_minutes,
    )


def logged_in(request: Request, conn: Connection) -> sessions.Session | RedirectResponse:
    """The logged-in session, or the redirect to the login page."""
    session = current_session(request, conn)
    if session is None or not session.logged_in:
        return RedirectResponse(LOGIN_PATH, status_code=303)
    return session


async def posted_form(request: Request, conn: Connection) -> tuple[sessions.Session, FormData] | Response:
    """A form posted by the logged-in person: (session, fields), or the answer to send instead — the
    login redirect, or the refusal of a missing or wrong CSRF token. Every form of the pages starts so."""
    form = await request.form()
    session = logged_in(request, conn)
    if isinstance(session, Response):
        return session
    if not csrf_ok(session, form.get("csrf")):
        return csrf_refused(request)
    return session, form


def csrf_ok(session: sessions.Session, submitted: Any) -> bool:
    return isinstance(submitted, str) and hmac.compare_digest(session.csrf_token, submitted)


def csrf_refused(request: Request) -> HTMLResponse:
    return error_page(
        request,
        403,
        "citizen.csrf_failed",
        "the form was not sent from this session's page; open the page again and resend it",
    )
