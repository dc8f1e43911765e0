"""The issuer's key and chain: made once in development, taken from configuration otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from register.settings import Settings
from register.wallet.keys import WalletKeyError, dev_ca_path, issuer_keys


def test_development_makes_a_ca_and_an_issuer_certificate_once(wallet_settings: Settings) -> None:
    first = issuer_keys(wallet_settings)
    folder = wallet_settings.data_dir / "wallet"
    assert sorted(p.name for p in folder.iterdir()) == [
        "dev-ca-key.pem",
        "dev-ca.pem",
        "issuer-chain.pem",
        "issuer-key.pem",
    ]
    assert (folder / "issuer-key.pem").stat().st_mode & 0o777 == 0o600
    assert (folder / "dev-ca-key.pem").stat().st_mode & 0o777 == 0o600
    again = issuer_keys(wallet_settings)
    assert again.x5c == first.x5c and again.kid == first.kid
    ca = x509.load_pem_x509_certificate(dev_ca_path(wallet_settings).read_bytes())
    (leaf,) = first.chain  # the trust anchor is not part of x5c
    assert leaf.issuer == ca.subject and leaf.subject != ca.subject
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["testserver"]


def test_production_never_makes_keys(wallet_settings: Settings, tmp_path: Path) -> None:
    production = wallet_settings.model_copy(update={"environment": "production", "data_dir": tmp_path / "p"})
    with pytest.raises(WalletKeyError):
        issuer_keys(production)
    assert not (tmp_path / "p").exists()


def test_a_configured_key_and_chain_are_used_and_checked(wallet_settings: Settings, tmp_path: Path) -> None:
    made = issuer_keys(wallet_settings)  # stands in for a key and certificate from the trusted list
    folder = wallet_settings.data_dir / "wallet"
    configured = wallet_settings.model_copy(
        update={
            "environment": "production",
            "wallet_issuer_key_path": folder / "issuer-key.pem",
            "wallet_issuer_chain_path": folder / "issuer-chain.pem",
        }
    )
    assert issuer_keys(configured).kid == made.kid
    mismatched = configured.model_copy(update={"wallet_issuer_chain_path": folder / "dev-ca.pem"})
    with pytest.raises(WalletKeyError, match="not the issuer key's"):
        issuer_keys(mismatched)
