"""What every router needs: the engine, the settings, and the caller's audit identity."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Request
from sqlalchemy import Engine

from api.auth import Principal
from api.errors import ApiError
from register.settings import Settings


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def audit_identity(request: Request, principal: Principal) -> dict[str, Any]:
    """The who of an audit row: client, organisation, scope and request id."""
    return {
        "client_id": principal.client_id,
        "organisation": principal.orgnr,
        "scope": principal.scope_text,
        "request_id": getattr(request.state, "request_id", None),
    }


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    """The parts of an opaque cursor; a cursor that was not made here is a 422 ``request.cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split("|")
    except (ValueError, UnicodeError, binascii.Error):
        values = []
    if len(values) != parts:
        raise ApiError(422, "request.cursor", "the cursor is not one this API handed out")
    return values
