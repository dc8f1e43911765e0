"""What every REST router needs: the engine, the settings, and the caller's audit identity."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import Engine

from api.auth import Principal
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
