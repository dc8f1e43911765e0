"""What REST routers share beyond api/deps.py: the caller's audit identity."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from api.auth import Principal


def audit_identity(request: Request, principal: Principal) -> dict[str, Any]:
    """The who of an audit row: client, organisation, scope and request id."""
    return {
        "client_id": principal.client_id,
        "organisation": principal.orgnr,
        "scope": principal.scope_text,
        "request_id": getattr(request.state, "request_id", None),
    }
