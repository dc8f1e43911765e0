"""The register's OpenID4VCI 1.0 issuer endpoints (register.wallet holds the work; docs/wallet.md).

``install(app)`` adds them when ``wallet_issuance_enabled``: the three ``/.well-known`` documents,
``/wallet/token``, ``/wallet/nonce``, ``/wallet/credential`` and ``/wallet/status/{n}``. Their errors
are OAuth's ``{"error", "error_description"}``, which wallets read, not problem+json.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.wallet import endpoints, wellknown
from register.wallet.errors import WalletError

NO_STORE = {"Cache-Control": "no-store"}


def install(app: FastAPI) -> None:
    if not app.state.settings.wallet_issuance_enabled:
        return
    app.include_router(wellknown.router)
    app.include_router(endpoints.router)
    app.add_exception_handler(WalletError, _wallet_error)  # type: ignore[arg-type]


def _wallet_error(request: Request, exc: WalletError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status_code=exc.status, headers=headers
    )
