"""Token, nonce, credential and status-list endpoints of the pre-authorized code flow."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, SettingsDep, UnitOfWork
from api.openapi import documented
from api.wallet import examples
from register.settings import Settings
from register.wallet import issuance, offers, status
from register.wallet.errors import WalletError
from register.wallet.metadata import CREDENTIAL_PATH, NONCE_PATH, STATUS_PATH, TOKEN_PATH

router = APIRouter(tags=["wallet"])
NO_STORE = {"Cache-Control": "no-store"}


MAX_CREDENTIAL_REQUEST_BYTES = 64 * 1024  # ten key proofs are ~6 KiB


@router.post(
    TOKEN_PATH,
    summary="Token endpoint: pre-authorized code and tx_code for an access token",
    **documented(
        example=examples.TOKEN,
        request_body={"content": {"application/x-www-form-urlencoded": {"example": examples.TOKEN_REQUEST}}},
        errors={422: "request.invalid"},
        responses=examples.oauth_error(400, "invalid_request", "unsupported_grant_type", "invalid_grant"),
    ),
)
def token(
    engine: EngineDep,
    settings: SettingsDep,
    grant_type: Annotated[str | None, Form()] = None,
    pre_authorized_code: Annotated[str | None, Form(alias="pre-authorized_code")] = None,
    tx_code: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    if grant_type != offers.PRE_AUTHORIZED_GRANT:
        raise WalletError("unsupported_grant_type", f"grant_type must be {offers.PRE_AUTHORIZED_GRANT}")
    if not pre_authorized_code:
        raise WalletError("invalid_request", "pre-authorized_code is required")
    # Its own transaction: a wrong tx_code is counted (committed) although the answer is an error.
    with engine.connect() as conn:
        try:
            access_token, expires_in, grant = offers.redeem(conn, pre_authorized_code, tx_code, settings)
        except WalletError as exc:
            if exc.commit:
                conn.commit()
            raise
        conn.commit()
    details = [
        {"type": "openid_credential", "credential_configuration_id": config, "credential_identifiers": ids}
        for config, ids in grant.identifiers().items()
    ]
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "authorization_details": details,
        },
        headers=NO_STORE,
    )


@router.post(
    NONCE_PATH, summary="Nonce endpoint: a fresh c_nonce for key proofs", **documented(example=examples.NONCE)
)
def nonce(conn: UnitOfWork, settings: SettingsDep) -> JSONResponse:
    return JSONResponse({"c_nonce": offers.new_nonce(conn, settings)}, headers=NO_STORE)


@router.post(
    CREDENTIAL_PATH,
    summary="Credential endpoint: SD-JWT VCs bound to the proofs' keys",
    **examples.access_token_secured(
        documented(
            example=examples.CREDENTIAL,
            request_example=examples.CREDENTIAL_REQUEST,
            responses={
                **examples.oauth_error(
                    400,
                    "invalid_request",
                    "invalid_credential_request",
                    "unknown_credential_configuration",
                    "unknown_credential_identifier",
                    "invalid_proof",
                    "invalid_nonce",
                    "credential_request_denied",
                ),
                **examples.oauth_error(401, "invalid_token"),
            },
        )
    ),
)
async def credential(request: Request, engine: EngineDep, settings: SettingsDep) -> JSONResponse:
    if "access_token" in request.query_params:
        # RFC 6750 §2.3 allows it; a query string lands in proxies' logs and browser history, so the
        # token is refused and, having travelled in a URL, revoked: whoever reads it there gets nothing.
        await run_in_threadpool(_revoke, engine, request.query_params.getlist("access_token"))
        raise WalletError(
            "invalid_request", "send the access token in the Authorization header, never in the query string"
        )
    access_token = _bearer(request)
    body = await request.body()
    if len(body) > MAX_CREDENTIAL_REQUEST_BYTES:
        raise WalletError("invalid_credential_request", "the credential request is too large")
    try:
        parsed = _json_object(body)
    except ValueError:
        raise WalletError("invalid_credential_request", "the body must be a JSON object") from None
    made = await run_in_threadpool(_issue, engine, settings, access_token, parsed)
    return JSONResponse({"credentials": [{"credential": c} for c in made]}, headers=NO_STORE)


def _revoke(engine: Engine, tokens: list[str]) -> None:
    with engine.begin() as conn:
        offers.revoke_access_tokens(conn, tokens)


def _issue(engine: Engine, settings: Settings, access_token: str, body: dict[str, Any]) -> list[str]:
    with engine.begin() as conn:
        grant = offers.grant_of(conn, access_token)
        return issuance.issue(conn, grant, body, settings)


@router.get(
    STATUS_PATH + "/{list_no}",
    summary="A Status List Token (application/statuslist+jwt)",
    response_class=Response,
    **documented(
        example=examples.STATUS_LIST,
        media_type="application/statuslist+jwt",
        errors={422: "request.invalid"},
        responses=examples.oauth_error(404, "not_found"),
    ),
)
def status_list(
    conn: UnitOfWork, settings: SettingsDep, list_no: Annotated[int, Path(ge=0, le=2**31 - 1)]
) -> Response:
    token = status.status_list_token(conn, list_no, settings)
    if token is None:
        raise WalletError("not_found", "no such status list", status=404)
    return Response(
        token,
        media_type="application/statuslist+jwt",
        headers={"Cache-Control": f"max-age={settings.wallet_status_ttl_seconds}"},
    )


def _bearer(request: Request) -> str:
    """The access token from the Authorization header, the only place it is taken from."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise WalletError("invalid_token", "an access token (Authorization: Bearer) is required", status=401)
    return value.strip()


def _json_object(body: bytes) -> dict[str, Any]:
    parsed = json.loads(body)
    if not isinstance(parsed, dict):
        raise ValueError("not an object")
    return parsed
