"""TEMPORARY — the citizen login of the preview pages: replaced by api/citizen's session at merge.

The preview page asks one thing of a login: which person is logged in (``current_citizen_person_id``).
Until the citizen login (OIDC against ID-porten, sessions with CSRF) lands in api/citizen, this module
answers it from a signed cookie that a development-only login form sets (``/oots/dev-login``: type a
synthetic national id, get a session for that person). Production never mounts the form, so there
every preview page asks for a login that does not exist yet — nothing is shown without one.

The cookie holds the internal person id (never the national id), an expiry, and an HMAC-SHA256 over
both with a key the register makes under its data directory in development.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid

from fastapi import Request

from register.keyfiles import ensure_secret
from register.settings import Settings

COOKIE = "kr_oots_dev_citizen"
SESSION_SECONDS = 30 * 60  # as long as an ID-porten session without activity


class CitizenLoginRequired(Exception):
    """No citizen is logged in (the page answers with the way to log in)."""


def current_citizen_person_id(request: Request) -> uuid.UUID:
    """The logged-in person's internal id; CitizenLoginRequired if nobody (or a forged cookie)."""
    settings: Settings = request.app.state.settings
    raw = request.cookies.get(COOKIE)
    if settings.environment != "development" or not raw:
        raise CitizenLoginRequired
    try:
        payload, signature = raw.rsplit(".", 1)
        expected = _sign(settings, payload)
        if not hmac.compare_digest(expected, signature):
            raise CitizenLoginRequired
        person, expires = base64.urlsafe_b64decode(payload.encode()).decode().split("|")
        if int(expires) < time.time():
            raise CitizenLoginRequired
        return uuid.UUID(person)
    except (ValueError, UnicodeDecodeError):
        raise CitizenLoginRequired from None


def session_cookie(settings: Settings, person_id: uuid.UUID) -> str:
    """The cookie value that logs ``person_id`` in (development login form only)."""
    expires = int(time.time()) + SESSION_SECONDS
    payload = base64.urlsafe_b64encode(f"{person_id}|{expires}".encode()).decode()
    return f"{payload}.{_sign(settings, payload)}"


def _sign(settings: Settings, payload: str) -> str:
    return hmac.new(_key(settings), payload.encode(), hashlib.sha256).hexdigest()


def _key(settings: Settings) -> bytes:
    return ensure_secret(settings.data_dir / "oots" / "dev-citizen-session.key")
