"""The issuer's signing key and certificate chain: configured in production, made here in development.

A wallet trusts an issuer of education credentials through an X.509 chain (the ``x5c`` header of every
credential and of ``/.well-known/jwt-vc-issuer``), not through the issuer's URL alone. In production the
key and a certificate from the national trusted list are configured (``REGISTER_WALLET_ISSUER_KEY_PATH``,
``REGISTER_WALLET_ISSUER_CHAIN_PATH``; docs/wallet.md). In development the register makes its own
stand-ins under the data directory, once: a development CA (10 years) and an issuer certificate it
signs (1 year, the issuer's host in subjectAltName), both P-256. A wallet or test trusts the
development CA (``wallet/dev-ca.pem``) explicitly; it is never part of ``x5c``, as HAIP requires of a
trust anchor.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from register import datadir
from register.keyfiles import write_new_key
from register.settings import Settings

ALGORITHM = "ES256"


class WalletKeyError(RuntimeError):
    """The issuer key or its chain is missing or unusable (settings, files)."""


@dataclass(frozen=True)
class IssuerKeys:
    key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]  # leaf first, trust anchor left out

    @property
    def kid(self) -> str:
        return (
            "wallet-"
            + hashlib.sha256(self.chain[0].public_bytes(serialization.Encoding.DER)).hexdigest()[:16]
        )

    @property
    def x5c(self) -> list[str]:
        """The chain as ``x5c`` (RFC 7515 §4.1.6: standard base64 DER, leaf first)."""
        return [
            base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode() for cert in self.chain
        ]

    def headers(self, typ: str) -> dict[str, Any]:
        return {"typ": typ, "alg": ALGORITHM, "kid": self.kid, "x5c": self.x5c}

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": ALGORITHM, "use": "sig", "x5c": self.x5c})
        return jwk


def wallet_dir(settings: Settings) -> Path:
    return settings.data_dir / "wallet"


def dev_ca_path(settings: Settings) -> Path:
    return wallet_dir(settings) / "dev-ca.pem"


def issuer_keys(settings: Settings) -> IssuerKeys:
    """The configured key and chain, or in development the register's own (made on first use)."""
    key_path, chain_path = settings.wallet_issuer_key_path, settings.wallet_issuer_chain_path
    if key_path is None or chain_path is None:
        if settings.environment != "development":
            raise WalletKeyError("wallet issuance needs REGISTER_WALLET_ISSUER_KEY_PATH and _CHAIN_PATH")
        key_path, chain_path = _ensure_development(settings)
    return _load(key_path, chain_path)


@lru_cache(maxsize=8)
def _load(key_path: Path, chain_path: Path) -> IssuerKeys:
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise WalletKeyError(f"{key_path} must hold a P-256 private key (ES256)")
    chain = tuple(x509.load_pem_x509_certificates(chain_path.read_bytes()))
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if not chain or chain[0].public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise WalletKeyError(f"the first certificate of {chain_path} is not the issuer key's")
    return IssuerKeys(key, chain)


def _ensure_development(settings: Settings) -> tuple[Path, Path]:
    folder = wallet_dir(settings)
    key_path, chain_path = folder / "issuer-key.pem", folder / "issuer-chain.pem"
    if chain_path.exists():
        return key_path, chain_path
    datadir.require(settings, database=False)  # a CA in a stray ./.register would sign unknown chains
    ca_key = _key(folder / "dev-ca-key.pem")
    ca = _write_cert(dev_ca_path(settings), lambda: _ca_certificate(ca_key))
    issuer_key = _key(key_path)
    host = urlsplit(settings.wallet_issuer_url).hostname or "localhost"
    _write_cert(chain_path, lambda: _issuer_certificate(issuer_key, ca_key, ca, host))
    return key_path, chain_path


def _key(path: Path) -> ec.EllipticCurvePrivateKey:
    if not path.exists():
        write_new_key(path, ec.generate_private_key(ec.SECP256R1()))
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _write_cert(path: Path, make: Any) -> x509.Certificate:
    """Write a certificate once (O_EXCL, as keyfiles does for keys); the one written first wins."""
    if not path.exists():
        cert: x509.Certificate = make()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(cert.public_bytes(serialization.Encoding.PEM))
    return x509.load_pem_x509_certificate(path.read_bytes())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kompetanseregisteret (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(ca_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    public = ca_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name("Kompetanseregisteret development CA"))
        .issuer_name(_name("Kompetanseregisteret development CA"))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _issuer_certificate(
    key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, host: str
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name("Kompetanseregisteret credential issuer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
