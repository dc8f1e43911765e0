"""The issuer's discovery documents under ``/.well-known`` (issuer identifier without a path)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import SettingsDep
from api.openapi import documented
from api.wallet import examples
from register.wallet import metadata

router = APIRouter(tags=["wallet"])


@router.get(
    "/.well-known/openid-credential-issuer",
    summary="Credential Issuer Metadata (OpenID4VCI 1.0)",
    **documented(example=examples.CREDENTIAL_ISSUER),
)
def credential_issuer(settings: SettingsDep) -> dict[str, Any]:
    return metadata.credential_issuer(settings)


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="Authorization Server Metadata (RFC 8414)",
    **documented(example=examples.AUTHORIZATION_SERVER),
)
def authorization_server(settings: SettingsDep) -> dict[str, Any]:
    return metadata.authorization_server(settings)


@router.get(
    "/.well-known/jwt-vc-issuer",
    summary="JWT VC Issuer Metadata: the issuer keys with x5c",
    **documented(example=examples.JWT_VC_ISSUER),
)
def jwt_vc_issuer(settings: SettingsDep) -> dict[str, Any]:
    return metadata.jwt_vc_issuer(settings)
