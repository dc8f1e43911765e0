"""The OAuth 2.0 / OpenID4VCI errors of the wallet endpoints (docs/errors.md, "Wallet issuance").

They are answered as the protocols say (``{"error": ..., "error_description": ...}``), not as problem+json:
a wallet reads ``error`` (RFC 6749 §5.2, RFC 6750 §3.1, OpenID4VCI 1.0 §8.3.1.2).
"""

from __future__ import annotations


class WalletError(Exception):
    def __init__(self, error: str, description: str, status: int = 400, *, commit: bool = False) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        # True: what the transaction wrote before the error must be kept (a failed attempt counted).
        self.commit = commit


def invalid_grant(description: str, *, commit: bool = False) -> WalletError:
    return WalletError("invalid_grant", description, commit=commit)


def invalid_proof(description: str) -> WalletError:
    return WalletError("invalid_proof", description)
