"""The preview page's one tie to the citizen login (api/citizen, docs/citizen.md): who is logged in.

The person logs in as on their own pages — ID-porten in production, the test identity provider in
development — and the login brings them back to the preview (``/me/login/start?next=…``, a local path
only). A preview is shown only to the person it is about, so a session of somebody else, or of a
person the register holds nothing about, sees no preview.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import Connection

from api.citizen.web import current_session


class CitizenLoginRequired(Exception):
    """No citizen is logged in (the page answers with the way to log in)."""


def current_citizen_person_id(request: Request, conn: Connection) -> uuid.UUID | None:
    """The logged-in person's internal id (None: logged in, but the register holds nothing about them);
    CitizenLoginRequired when nobody is logged in."""
    session = current_session(request, conn)
    if session is None or not session.logged_in:
        raise CitizenLoginRequired
    return session.person_id


def login_url(return_to: str, lang: str) -> str:
    """The citizen login that comes back to ``return_to`` (a path of the register) afterwards."""
    return "/me/login/start?" + urlencode({"next": return_to, "lang": lang})
