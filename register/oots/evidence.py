"""The evidence itself: a signed ELMO of the person's results of the evidence type's sectors.

The ELMO is the export's (register.exports.elmo: the read model every output uses) limited to the
sectors of the evidence type and to passed results, signed as ``register export elmo --sign`` signs
(``sign_elmo``: enveloped XML-DSig, RSA-SHA256). The key and certificate are the configured ELMO
signing pair; in development, where none is configured, the register makes its own under the data
directory (a self-signed certificate, named as a development stand-in). Production refuses to answer
without a configured pair rather than send unsigned evidence.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import Connection

from register.errors import InvalidInput
from register.exports.elmo import export_person_elmo, sign_elmo
from register.keyfiles import write_new_key
from register.namespaces import ELMO_NS
from register.oots.catalogue import EvidenceType
from register.oots.request import secure_parser
from register.settings import Settings


@dataclass(frozen=True, slots=True)
class Evidence:
    document: bytes  # the signed ELMO, UTF-8 XML
    achievement_ids: list[str]  # what it holds, for the audit row


def build_evidence(
    conn: Connection,
    person_id: uuid.UUID,
    evidence_type: EvidenceType,
    settings: Settings,
    *,
    national_id: bool,
) -> Evidence:
    """The signed ELMO; NotFound (``elmo.nothing_to_export``) when the person has no such results.

    ``national_id``: whether the learner's Norwegian national id stays in the document. Only when the
    request named the person by it (an eIDAS identifier carrying it): a requester that found the
    person by names and birth date learns no identifier it did not have.
    """
    export = export_person_elmo(
        conn, person_id, sectors=[s.value for s in evidence_type.sectors], passed_only=True
    )
    key, cert = signing_material(settings)
    root = etree.fromstring(export.document, secure_parser())
    if not national_id:
        for identifier in root.iterfind(
            f"{{{ELMO_NS}}}learner/{{{ELMO_NS}}}identifier[@type='nationalIdentifier']"
        ):
            identifier.getparent().remove(identifier)  # type: ignore[union-attr]
    signed = sign_elmo(root, key, cert)
    return Evidence(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"), export.achievement_ids)


def signing_material(settings: Settings) -> tuple[bytes, bytes]:
    """(private key PEM, certificate PEM) for signing evidence."""
    if settings.elmo_signing_key_path and settings.elmo_signing_cert_path:
        return _read(settings.elmo_signing_key_path), _read(settings.elmo_signing_cert_path)
    if settings.environment != "development":
        raise InvalidInput(
            "elmo.signing_not_configured",
            "OOTS evidence is signed: set REGISTER_ELMO_SIGNING_KEY_PATH and REGISTER_ELMO_SIGNING_CERT_PATH",
        )
    return _development_pair(settings.data_dir / "oots")


def _development_pair(folder: Path) -> tuple[bytes, bytes]:
    key_path, cert_path = folder / "evidence-signing-key.pem", folder / "evidence-signing-cert.pem"
    if not key_path.exists():
        write_new_key(key_path, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    key_pem = key_path.read_bytes()
    if not cert_path.exists():
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, "Kompetanseregisteret development evidence signer")]
        )
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        tmp = cert_path.with_suffix(".tmp")
        tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        tmp.replace(cert_path)  # atomic: a second process never reads half a certificate
    return key_pem, cert_path.read_bytes()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            "elmo.signing_key_unreadable", f"the signing key or certificate cannot be read: {exc.strerror}"
        ) from None
