"""The citizen's preview of an OOTS request: ``/oots/preview/<token>`` (the request's PreviewLocation).

The logged-in person (``citizen_seam.current_citizen_person_id``, the page's one tie to the login) sees
exactly the evidence that would travel — the signed ELMO built as the answer builds it, read back into
a table, and the document itself — and approves or refuses it with a form. The forms carry a CSRF
token: HMAC-SHA256 over the preview and the person with a key of the register's, so a form posted from
another site, or for another person's preview, is refused. A preview that is not the logged-in
person's answers exactly like one that does not exist. Every view and decision is audited with the
person's id. Pages: server-rendered, bokmål and English, no script, a CSP of ``default-src 'self'``.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Connection

from api.deps import EngineDep, SettingsDep, UnitOfWork
from api.oots.citizen_seam import COOKIE, CitizenLoginRequired, current_citizen_person_id, session_cookie
from api.oots.pages import TEMPLATES, TEXTS, evidence_lines, language
from register.audit import record_read
from register.errors import InvalidInput, NotFound
from register.keyfiles import ensure_secret
from register.oots.catalogue import evidence_type_by_key
from register.oots.evidence import build_evidence
from register.oots.previews import PREVIEW_PATH, Preview, decide, preview_by_token
from register.persons import person_id_by_nin
from register.settings import Settings

router = APIRouter(prefix="/oots", include_in_schema=False)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # The address holds the preview's secret token: never sent on to another site, never cached.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_CSS = Path(__file__).parent / "static" / "oots.css"


@router.get("/static/oots.css")
def stylesheet() -> Response:
    return Response(_CSS.read_bytes(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/preview/{token}", response_class=HTMLResponse)
def show(token: str, request: Request, conn: UnitOfWork, settings: SettingsDep) -> Response:
    lang = language(request)
    try:
        person_id = current_citizen_person_id(request)
    except CitizenLoginRequired:
        return _login_needed(request, settings, lang)
    preview = preview_by_token(conn, token)
    if preview is None or preview.person_id != person_id:
        return _message(lang, TEXTS[lang]["not_found"], status=404)
    return _preview_page(conn, request, preview, settings, lang, action="oots.preview_viewed")


@router.post("/preview/{token}", response_class=HTMLResponse)
def decide_preview(
    token: str,
    request: Request,
    conn: UnitOfWork,
    settings: SettingsDep,
    decision: str = Form(""),
    csrf_token: str = Form(""),
) -> Response:
    lang = language(request)
    try:
        person_id = current_citizen_person_id(request)
    except CitizenLoginRequired:
        return _login_needed(request, settings, lang)
    preview = preview_by_token(conn, token, for_update=True)
    if preview is None or preview.person_id != person_id:
        return _message(lang, TEXTS[lang]["not_found"], status=404)
    if decision not in ("approve", "refuse") or not hmac.compare_digest(csrf_token, _csrf(settings, preview)):
        return _preview_page(
            conn, request, preview, settings, lang, action="oots.preview_viewed", error=TEXTS[lang]["bad_form"],
            status=400,
        )  # fmt: skip
    decided = decide(conn, preview, approve=decision == "approve")
    record_read(
        conn,
        person_id=person_id,
        action="oots.preview_decided",
        request_id=getattr(request.state, "request_id", None),
        details={"preview": str(preview.id), "decision": decision, "state": decided.state},
    )
    return RedirectResponse(f"{PREVIEW_PATH}{token}?lang={lang}", status_code=303, headers=SECURITY_HEADERS)


def _preview_page(
    conn: Connection,
    request: Request,
    preview: Preview,
    settings: Settings,
    lang: str,
    *,
    action: str,
    error: str | None = None,
    status: int = 200,
) -> Response:
    evidence_type = evidence_type_by_key(preview.evidence_type)
    context: dict[str, Any] = {"issuers": [], "document": ""}
    details: dict[str, Any] = {"preview": str(preview.id), "state": preview.state}
    if preview.state == "pending":
        try:
            evidence = build_evidence(
                conn, preview.person_id, evidence_type, settings, national_id=preview.national_id
            )
        except NotFound:
            evidence = None
        if evidence is not None:
            context = {
                "issuers": evidence_lines(evidence.document, lang),
                "document": evidence.document.decode("utf-8"),
            }
            details["achievements"] = evidence.achievement_ids
    record_read(
        conn,
        person_id=preview.person_id,
        action=action,
        request_id=getattr(request.state, "request_id", None),
        details=details,
    )
    requester = preview.request.get("requester") or {}
    html = TEMPLATES.get_template("preview.html").render(
        lang=lang,
        t=TEXTS[lang],
        heading=TEXTS[lang]["title"],
        preview=preview,
        requester=requester.get("name") or requester.get("identifier") or "",
        evidence_title=evidence_type.title_nb if lang == "nb" else evidence_type.title_en,
        action=f"{PREVIEW_PATH}{preview.token}?lang={lang}",
        csrf=_csrf(settings, preview),
        error=error,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _message(lang: str, message: str, *, status: int, login_url: str | None = None) -> Response:
    html = TEMPLATES.get_template("message.html").render(
        lang=lang, t=TEXTS[lang], heading=TEXTS[lang]["title"], message=message, login_url=login_url
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _login_needed(request: Request, settings: Settings, lang: str) -> Response:
    if settings.environment != "development":
        return _message(lang, TEXTS[lang]["login_unavailable"], status=401)
    login = f"/oots/dev-login?lang={lang}&next={quote(request.url.path, safe='')}"
    return _message(lang, TEXTS[lang]["login_needed"], status=401, login_url=login)


def _csrf(settings: Settings, preview: Preview) -> str:
    message = f"oots-preview|{preview.id}|{preview.person_id}".encode()
    return hmac.new(_form_key(settings), message, hashlib.sha256).hexdigest()


def _form_key(settings: Settings) -> bytes:
    """The key of the forms' CSRF tokens, made once under the data directory."""
    return ensure_secret(settings.data_dir / "oots" / "preview-forms.key")


# --- development login (TEMPORARY: replaced by api/citizen's session at merge) -----------------------


@router.get("/dev-login", response_class=HTMLResponse)
def dev_login_form(request: Request, settings: SettingsDep, next: str = "") -> Response:
    lang = language(request)
    if settings.environment != "development":
        return _message(lang, TEXTS[lang]["login_unavailable"], status=404)
    return _dev_login(lang, _safe_next(next))


@router.post("/dev-login", response_class=HTMLResponse)
def dev_login(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    nin: str = Form(""),
    next: str = Form(""),
) -> Response:
    lang = language(request)
    if settings.environment != "development":
        return _message(lang, TEXTS[lang]["login_unavailable"], status=404)
    try:
        with engine.connect() as conn:
            person_id = person_id_by_nin(conn, nin.strip(), allow_synthetic=settings.synthetic_ids_allowed)
    except (InvalidInput, NotFound):
        return _dev_login(lang, _safe_next(next), error=TEXTS[lang]["unknown_person"], status=400)
    response = RedirectResponse(
        _safe_next(next) or "/oots/dev-login", status_code=303, headers=SECURITY_HEADERS
    )
    response.set_cookie(
        COOKIE,
        session_cookie(settings, person_id),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/oots",
    )
    return response


def _dev_login(lang: str, next_path: str, *, error: str | None = None, status: int = 200) -> Response:
    html = TEMPLATES.get_template("dev_login.html").render(
        lang=lang, t=TEXTS[lang], heading=TEXTS[lang]["dev_login_title"], next=next_path, error=error
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _safe_next(path: str) -> str:
    """Only a preview page of this site (no open redirect)."""
    return path if path.startswith(PREVIEW_PATH) and "//" not in path and "\\" not in path else ""
