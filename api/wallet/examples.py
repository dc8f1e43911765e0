"""Examples for the OpenAPI document of the wallet issuer's endpoints (api/openapi ``documented``).

The metadata examples are the register's own documents for a production issuer URL, computed from the
same functions that serve them, so the examples cannot drift from what is answered.
"""

from __future__ import annotations

from typing import Any

from api.openapi import OAUTH_ERRORS
from register.settings import Settings
from register.wallet import metadata

_PRODUCTION = Settings.model_construct(wallet_issuer_url="https://kompetanseregisteret.no")

CREDENTIAL_ISSUER = metadata.credential_issuer(_PRODUCTION)
AUTHORIZATION_SERVER = metadata.authorization_server(_PRODUCTION)
JWT_VC_ISSUER = {
    "issuer": "https://kompetanseregisteret.no",
    "jwks": {
        "keys": [
            {
                "kty": "EC",
                "crv": "P-256",
                "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                "kid": "issuer-2026",
                "use": "sig",
                "alg": "ES256",
                "x5c": ["MIIB…leaf certificate, base64 DER…", "MIIB…intermediate…"],
            }
        ]
    },
}
TOKEN_REQUEST = {
    "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
    "pre-authorized_code": "SplxlOBeZQQYbYS6WxSbIA",
    "tx_code": "493536",
}
TOKEN = {
    "access_token": "czZCaGRSa3F0MzpnWDFmQmF0M2JW",
    "token_type": "Bearer",
    "expires_in": 300,
    "authorization_details": [
        {
            "type": "openid_credential",
            "credential_configuration_id": "eu.europa.ec.eudi.learning.sd_jwt_vc",
            "credential_identifiers": ["5e5d2a54-0f0e-4c7b-9d8e-2b5c1e3f4a6b"],
        }
    ],
}
NONCE = {"c_nonce": "wKI4LT17ac15ES9bw8ac4"}
CREDENTIAL_REQUEST = {
    "credential_identifier": "5e5d2a54-0f0e-4c7b-9d8e-2b5c1e3f4a6b",
    "proofs": {"jwt": ["eyJ0eXAiOiJvcGVuaWQ0dmNpLXByb29mK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7fX0.eyJ…"]},
}
CREDENTIAL = {"credentials": [{"credential": "eyJ0eXAiOiJkYytzZC1qd3QiLCJhbGciOiJFUzI1NiJ9.eyJ…~WyJ…~"}]}
STATUS_LIST = (
    "eyJ0eXAiOiJzdGF0dXNsaXN0K2p3dCIsImFsZyI6IkVTMjU2In0.eyJzdGF0dXNfbGlzdCI6eyJiaXRzIjoxLCJsc3QiOiJlTnJ…"
)


def oauth_error(status: int, *codes: str) -> dict[int, dict[str, Any]]:
    """An OAuth error response (RFC 6749 §5.2) with one example per code, for ``documented(responses=)``."""
    return {
        status: {
            "description": "OAuth error: " + ", ".join(f"`{c}`" for c in codes) + " (docs/errors.md)",
            "content": {
                "application/json": {
                    "examples": {
                        code: {"value": {"error": code, "error_description": "see docs/wallet.md"}}
                        for code in codes
                    }
                }
            },
        }
    }


def access_token_secured(declaration: dict[str, Any]) -> dict[str, Any]:
    """A ``documented`` declaration for an endpoint that takes the wallet's access token (the plain
    ``bearer`` scheme of the document: the token is the one the token endpoint gave, no scope), and
    refuses it as OAuth does (its 401 is declared with the OAuth errors)."""
    declaration["openapi_extra"]["security"] = [{"bearer": []}]
    declaration["openapi_extra"][OAUTH_ERRORS] = True
    return declaration
