"""The key and certificate ELMO documents are signed with: configured, or made for development.

EMREX receivers verify the signature of every ELMO document, so the register signs whenever it has a
key. Production configures its own (``REGISTER_ELMO_SIGNING_KEY_PATH`` and ``…_CERT_PATH``: a PEM
private key and its X.509 certificate, docs/operations.md); without one it serves no ELMO at all
(``elmo.signing_not_configured``, 503) rather than documents a receiver would refuse. In development
the register makes an RSA key and a self-signed certificate under its data directory on first need,
so ``make run`` signs from the first minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from register import datadir
from register.errors import InvalidInput, RegisterError
from register.keyfiles import write_new_file, write_new_key
from register.settings import Settings

DEV_KEY_FILE = "elmo-signing-key.pem"
DEV_CERT_FILE = "elmo-signing-cert.pem"
DEV_COMMON_NAME = "Kompetanseregisteret (development, not trusted)"
# RSA 2048 with SHA-256: what EMREX's own signers (FS, the national contact points) use and verify.
DEV_KEY_BITS = 2048
# Ten years: a development register's documents stay verifiable as long as anyone keeps its folder.
DEV_CERT_DAYS = 3650


class SigningUnavailable(RegisterError):
    """The register has no key to sign with: a production register without its own configured key."""

    status = 503
    title = "Service unavailable"


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    key_pem: bytes
    cert_pem: bytes
    development: bool  # made by the register for itself; receivers will not trust it


def signing_identity(settings: Settings) -> SigningIdentity | None:
    """The configured key and certificate; in development, the register's own; else None.

    Raises InvalidInput ``elmo.signing_not_configured`` when only one of the two paths is set (Settings
    refuses that at start) and ``SigningUnavailable`` ``elmo.signing_key_unreadable`` when a configured
    file cannot be read: the register's own fault, 503 to a client, never the request's.
    """
    key_path, cert_path = settings.elmo_signing_key_path, settings.elmo_signing_cert_path
    if key_path is not None and cert_path is not None:
        return SigningIdentity(_read(key_path, "key"), _read(cert_path, "certificate"), development=False)
    if key_path is not None or cert_path is not None:
        raise InvalidInput(
            "elmo.signing_not_configured",
            "set both REGISTER_ELMO_SIGNING_KEY_PATH and REGISTER_ELMO_SIGNING_CERT_PATH, or neither",
        )
    if settings.environment == "development":
        return development_identity(settings)
    return None


def required_identity(settings: Settings) -> SigningIdentity:
    """``signing_identity``, or ``SigningUnavailable`` (503) where there is none (production unconfigured)."""
    identity = signing_identity(settings)
    if identity is None:
        raise SigningUnavailable(
            "elmo.signing_not_configured",
            "this register has no ELMO signing key: its operator must set REGISTER_ELMO_SIGNING_KEY_PATH "
            "and REGISTER_ELMO_SIGNING_CERT_PATH",
        )
    return identity


def development_identity(settings: Settings) -> SigningIdentity:
    """The development key and self-signed certificate under the data directory, made on first need."""
    key_path, cert_path = settings.data_dir / DEV_KEY_FILE, settings.data_dir / DEV_CERT_FILE
    if not key_path.exists():
        datadir.require(settings, database=False)  # never a key in a stray ./.register
        write_new_key(key_path, rsa.generate_private_key(public_exponent=65537, key_size=DEV_KEY_BITS))
    key_pem = key_path.read_bytes()
    if not cert_path.exists():
        # Made from the key on file (whoever wrote it): two processes starting at once may both get
        # here, and whichever certificate is written first certifies that same key.
        write_new_file(cert_path, _self_signed(key_pem))
    return SigningIdentity(key_pem, cert_path.read_bytes(), development=True)


def _self_signed(key_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SigningUnavailable("elmo.signing_key_unreadable", "the development ELMO key is not an RSA key")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
            x509.NameAttribute(NameOID.COMMON_NAME, DEV_COMMON_NAME),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=DEV_CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningUnavailable(
            "elmo.signing_key_unreadable", f"the signing {what} cannot be read: {exc.strerror}"
        ) from None
