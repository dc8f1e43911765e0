"""The citizen's preview of an OOTS request: ``/oots/preview/<token>`` (the request's PreviewLocation).

The logged-in person (``citizen_seam.current_citizen_person_id``: the citizen login's session) sees
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

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Connection

from api.deps import SettingsDep, UnitOfWork
from api.oots.citizen_seam import CitizenLoginRequired, current_citizen_person_id, login_url
from api.oots.pages import TEMPLATES, TEXTS, evidence_lines, language
from register.audit import record_read
from register.errors import NotFound
from register.keyfiles import ensure_secret
from register.oots.catalogue import evidence_type_by_key
from register.oots.evidence import build_evidence
from register.oots.previews import PREVIEW_PATH, Preview, decide, preview_by_token
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
        person_id = current_citizen_person_id(request, conn)
    except CitizenLoginRequired:
        return _login_needed(request, lang)
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
        person_id = current_citizen_person_id(request, conn)
    except CitizenLoginRequired:
        return _login_needed(request, lang)
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


def _login_needed(request: Request, lang: str) -> Response:
    return _message(
        lang, TEXTS[lang]["login_needed"], status=401, login_url=login_url(request.url.path, lang)
    )


def _csrf(settings: Settings, preview: Preview) -> str:
    message = f"oots-preview|{preview.id}|{preview.person_id}".encode()
    return hmac.new(_form_key(settings), message, hashlib.sha256).hexdigest()


def _form_key(settings: Settings) -> bytes:
    """The key of the forms' CSRF tokens, made once under the data directory."""
    return ensure_secret(settings.data_dir / "oots" / "preview-forms.key")
