"""Shared helpers for the ELMO tests: run the importer, make a signing identity, sign a document."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod

from importers.base import ImportContext, Item
from importers.higher.elmo import ElmoImporter
from register.records import AchievementRecord, BatchFacts, BatchWarning, RecordError
from register.sectors import Sector
from register.settings import Settings


@dataclass
class Extracted:
    items: list[Item]
    facts: BatchFacts

    @property
    def records(self) -> list[AchievementRecord]:
        return [i for i in self.items if isinstance(i, AchievementRecord)]

    @property
    def errors(self) -> list[RecordError]:
        return [i for i in self.items if isinstance(i, RecordError)]

    @property
    def warnings(self) -> list[BatchWarning]:
        return [i for i in self.items if isinstance(i, BatchWarning)]

    def warning_codes(self) -> set[str]:
        return {w.code for w in self.warnings}


#: the import options a test may set, by the name of the settings field that holds each
_OPTION_SETTINGS = {
    "max_bytes": "max_upload_bytes",
    "max_xml_depth": "max_xml_depth",
    "require_valid_signature": "elmo_require_valid_signature",
}


def settings_with(**options: object) -> Settings:
    """Settings with the named import options, as an import takes them (ImportContext.settings)."""
    return Settings(**{_OPTION_SETTINGS[name]: value for name, value in options.items()})  # type: ignore[arg-type]


def extract(data: bytes, *, sector: Sector = Sector.HIGHER, **options: object) -> Extracted:
    context = ImportContext(sector=sector, provider_orgnr="999999999", settings=settings_with(**options))
    items = list(ElmoImporter().extract(io.BytesIO(data), context))
    return Extracted(items, context.facts)


@dataclass(frozen=True)
class Identity:
    key_pem: bytes
    cert_pem: bytes


def signing_identity(
    *, expired: bool = False, common_name: str = "Universitetet i Nordvik (demo)"
) -> Identity:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    valid_from, valid_to = (now - dt.timedelta(days=730), now - dt.timedelta(days=365)) if expired else (
        now - dt.timedelta(days=1), now + dt.timedelta(days=365))  # fmt: skip
    name = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Identity(key_pem, cert.public_bytes(serialization.Encoding.PEM))


def sign(document: bytes, identity: Identity) -> bytes:
    """Enveloped XML-DSig, Reference URI="", inclusive C14N 1.0, RSA-SHA256 (as EMREX signs, but SHA-256)."""
    root = etree.fromstring(document)
    signed = XMLSigner(c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0).sign(
        root, key=identity.key_pem, cert=identity.cert_pem.decode()
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
