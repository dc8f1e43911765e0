"""The citizen's login sessions, kept server-side (table ``citizen_session``).

The browser holds a random 256-bit token in a cookie; the table holds its sha256, the CSRF token of
the session and either the login under way (state, nonce, PKCE verifier) or the logged-in person's
internal id — never a national id. A session ends when it has been idle for ``idle`` minutes or has
lived ``longest`` minutes, whichever comes first (ID-porten's own session: 30 and 120), and at once
on logout, which deletes the row: a copied cookie is worth nothing afterwards, as it would not be with
a signed cookie that carries the session itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

#: 32 bytes: a session token is a bearer credential, as long as the register's other secrets
TOKEN_BYTES = 32
#: the time from "Log in" to the identity provider's answer; ID-porten's own login takes a few minutes
LOGIN_MINUTES = 10


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: bytes
    person_id: uuid.UUID | None
    csrf_token: str
    login: dict[str, Any] | None
    expires_at: dt.datetime

    @property
    def logged_in(self) -> bool:
        """Logged in: the login is done (a person the register holds nothing about has no person id)."""
        return self.login is None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def start_login(conn: Connection, login: dict[str, Any]) -> tuple[str, Session]:
    """A new session holding a login under way; returns the cookie token and the session."""
    return _insert(conn, None, login, f"now() + interval '{LOGIN_MINUTES} minutes'")


def complete_login(
    conn: Connection, login_token: str, person_id: uuid.UUID | None, *, idle_minutes: int
) -> tuple[str, Session]:
    """The login's session replaced by a new one for the person (a new token: no session fixation)."""
    end(conn, login_token)
    purge_expired(conn)
    return _insert(conn, person_id, None, f"now() + make_interval(mins => {int(idle_minutes)})")


def _insert(
    conn: Connection, person_id: uuid.UUID | None, login: dict[str, Any] | None, expires: str
) -> tuple[str, Session]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = conn.execute(
        text(
            f"""INSERT INTO citizen_session (token_hash, person_id, csrf_token, login, expires_at)
                VALUES (:h, :p, :csrf, CAST(:login AS jsonb), {expires})
                RETURNING token_hash, person_id, csrf_token, login, expires_at"""
        ),
        {
            "h": token_hash(token),
            "p": person_id,
            "csrf": secrets.token_urlsafe(TOKEN_BYTES),
            "login": None if login is None else json.dumps(login),
        },
    ).one()
    return token, Session(**row._mapping)


def load(conn: Connection, token: str, *, idle_minutes: int, longest_minutes: int) -> Session | None:
    """The live session of this cookie token, its idle time restarted; None if none or expired.

    A logged-in session now lasts ``idle`` minutes more, but never past its creation + ``longest``.
    """
    row = conn.execute(
        text(
            """UPDATE citizen_session
               SET expires_at = CASE WHEN login IS NULL
                                     THEN least(created_at + make_interval(mins => :longest),
                                                now() + make_interval(mins => :idle))
                                     ELSE expires_at END
               WHERE token_hash = :h AND expires_at > now()
               RETURNING token_hash, person_id, csrf_token, login, expires_at"""
        ),
        {"h": token_hash(token), "idle": idle_minutes, "longest": longest_minutes},
    ).one_or_none()
    return Session(**row._mapping) if row is not None else None


def end(conn: Connection, token: str) -> None:
    conn.execute(text("DELETE FROM citizen_session WHERE token_hash = :h"), {"h": token_hash(token)})


def purge_expired(conn: Connection) -> int:
    """Remove sessions past their expiry (done at each login: the table stays as small as its users)."""
    return conn.execute(text("DELETE FROM citizen_session WHERE expires_at <= now()")).rowcount
