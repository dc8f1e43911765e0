"""The citizen's door into the register: ID-porten login and the person's own pages (docs/citizen.md).

``install`` adds the pages to the app and decides where logins go: the configured issuer (ID-porten
in production), or in development, when none is configured, the local test identity provider
(api/test_idp), which is imported and mounted only then.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from api.citizen import login, pages, wallet_offer
from api.citizen.oidc import OidcClient
from register.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    client_id, client_secret = settings.citizen_oidc_client_id, settings.citizen_oidc_client_secret
    issuer = settings.citizen_oidc_issuer
    app.state.citizen_issuer_origin = _origin(issuer) if issuer else ""
    if issuer is None and settings.test_idp_enabled:
        from api import test_idp  # a development stand-in: never imported with production settings

        secret = secrets.token_urlsafe(32)  # the register is the test IdP's only client, in this process
        idp = test_idp.TestIdentityProvider(
            key_dir=settings.data_dir,
            client_secret=secret,
            allow_synthetic=settings.synthetic_ids_allowed,
        )
        app.state.test_idp = idp
        app.include_router(test_idp.router(idp))
        client_id, client_secret_value = test_idp.CLIENT_ID, secret
        app.state.citizen_issuer = test_idp.issuer_of
    else:
        client_secret_value = client_secret.get_secret_value() if client_secret else ""

        def configured(_: Request) -> str | None:
            return issuer

        app.state.citizen_issuer = configured
    app.state.citizen_oidc = (
        OidcClient(
            client_id=client_id,
            client_secret=client_secret_value,
            acr_values=settings.citizen_acr_values,
            acr_accepted=list(settings.citizen_acr_accepted),
            leeway_seconds=settings.jwt_leeway_seconds,
        )
        if client_id
        else None
    )
    app.include_router(login.router)
    app.include_router(pages.router)
    if settings.wallet_issuance_enabled:  # the "Put in my wallet" button shows only where this is served
        app.include_router(wallet_offer.router)
    app.mount("/me/static", StaticFiles(directory=Path(__file__).parent / "static"), name="citizen-static")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
