"""The issuer's published documents: Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), Authorization
Server Metadata (RFC 8414) and JWT VC Issuer Metadata (SD-JWT VC §5: the issuer keys with ``x5c``).

The credential configurations live in ``configurations.json`` beside this module: one document a
reviewer can hold against the EU reference issuer's, read once.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from register.settings import Settings
from register.wallet.credentials import CONFIGURATIONS
from register.wallet.issuance import BATCH_SIZE
from register.wallet.keys import issuer_keys
from register.wallet.offers import PRE_AUTHORIZED_GRANT

TOKEN_PATH = "/wallet/token"
NONCE_PATH = "/wallet/nonce"
CREDENTIAL_PATH = "/wallet/credential"
STATUS_PATH = "/wallet/status"


@cache
def configurations() -> dict[str, Any]:
    text = resources.files("register.wallet").joinpath("configurations.json").read_text(encoding="utf-8")
    found = {key: value for key, value in json.loads(text).items() if not key.startswith("$")}
    assert {key: value["vct"] for key, value in found.items()} == CONFIGURATIONS
    return found


def credential_issuer(settings: Settings) -> dict[str, Any]:
    base = settings.wallet_issuer_url
    return {
        "credential_issuer": base,
        "authorization_servers": [base],
        "credential_endpoint": base + CREDENTIAL_PATH,
        "nonce_endpoint": base + NONCE_PATH,
        "batch_credential_issuance": {"batch_size": BATCH_SIZE},
        "display": [
            {"name": "Kompetanseregisteret", "locale": "nb"},
            {"name": "Norwegian register of education results", "locale": "en"},
        ],
        "credential_configurations_supported": configurations(),
    }


def authorization_server(settings: Settings) -> dict[str, Any]:
    base = settings.wallet_issuer_url
    return {
        "issuer": base,
        "token_endpoint": base + TOKEN_PATH,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        # OpenID4VCI §12.3: a wallet may redeem a pre-authorized code without a client id.
        "pre-authorized_grant_anonymous_access_supported": True,
        "token_endpoint_auth_methods_supported": ["none"],
        "response_types_supported": [],
    }


def jwt_vc_issuer(settings: Settings) -> dict[str, Any]:
    return {"issuer": settings.wallet_issuer_url, "jwks": {"keys": [issuer_keys(settings).public_jwk()]}}
