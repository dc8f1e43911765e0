"""POST /v1/persons/elmo signs: with the configured key, or in development with the register's own.

Each signature is checked twice, by implementations other than the signer's code path: signxml's
XMLVerifier against the certificate, and a check written from the XML-DSig rules with lxml's C14N and
cryptography's RSA (digest of the document without its Signature; the SignatureValue over SignedInfo).
"""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi.testclient import TestClient
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import InvalidSignature as SignxmlInvalid
from sqlalchemy import Engine

from api.app import create_app
from register.exports import person_elmo
from register.exports.signing import DEV_CERT_FILE, DEV_KEY_FILE
from register.persons import person_id_by_nin
from register.queries import Selection
from register.settings import Settings
from tests.api.conftest import READ, Token, bearer
from tests.api.vitnemalsportalen.helpers import Pupil, last_audit
from tests.exports.elmo_schema import schema_errors
from tests.importers.higher.helpers import signing_identity

DS = "{http://www.w3.org/2000/09/xmldsig#}"


def _elmo(client: TestClient, token: Token, portal: str, body: dict) -> bytes:
    answer = client.post("/v1/persons/elmo", json=body, headers=bearer(token(portal, READ)))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    return answer.content


def check_signature(document: bytes, cert_pem: bytes) -> None:
    """XML-DSig enveloped signature, checked step by step without signxml."""
    root = etree.fromstring(document)
    [signature] = root.findall(f"{DS}Signature")
    signed_info = signature.find(f"{DS}SignedInfo")
    assert signed_info is not None
    c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    assert signed_info.find(f"{DS}CanonicalizationMethod").get("Algorithm") == c14n
    [reference] = signed_info.findall(f"{DS}Reference")
    assert reference.get("URI") == ""
    # The enveloped-signature transform: the document without its Signature, canonicalized.
    unsigned = etree.fromstring(document)
    unsigned.remove(unsigned.find(f"{DS}Signature"))
    digest = hashlib.sha256(etree.tostring(unsigned, method="c14n")).digest()
    assert base64.b64decode(reference.findtext(f"{DS}DigestValue")) == digest
    value = base64.b64decode("".join(signature.findtext(f"{DS}SignatureValue").split()))
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(value, etree.tostring(signed_info, method="c14n"), padding.PKCS1v15(), hashes.SHA256())


def test_development_signs_from_the_first_request_with_a_key_it_makes(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, api_settings: Settings, db: Engine
) -> None:
    key_file, cert_file = api_settings.data_dir / DEV_KEY_FILE, api_settings.data_dir / DEV_CERT_FILE
    assert not key_file.exists()
    document = _elmo(client, token, orgs["portal"], {"nin": pupil.nin})
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cert_pem = cert_file.read_bytes()
    assert schema_errors(document) == []
    XMLVerifier().verify(document, x509_cert=cert_pem.decode())
    check_signature(document, cert_pem)
    # The embedded certificate is the one on file: a receiver can pin it.
    embedded = etree.fromstring(document).findtext(
        f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate"
    )
    on_file = x509.load_pem_x509_certificate(cert_pem)
    assert base64.b64decode("".join(embedded.split())) == on_file.public_bytes(serialization.Encoding.DER)
    assert last_audit(db, "persons.elmo").details["signed"] is True
    # A second document is signed by the same key: nothing is made again.
    again = _elmo(client, token, orgs["portal"], {"nin": pupil.nin})
    check_signature(again, cert_file.read_bytes())
    assert cert_file.read_bytes() == cert_pem


def test_a_changed_document_fails_both_verifiers(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, api_settings: Settings
) -> None:
    document = _elmo(client, token, orgs["portal"], {"nin": pupil.nin})
    cert_pem = (api_settings.data_dir / DEV_CERT_FILE).read_bytes()
    tampered = document.replace(b"<resultLabel>5</resultLabel>", b"<resultLabel>6</resultLabel>", 1)
    assert tampered != document
    with pytest.raises(SignxmlInvalid):
        XMLVerifier().verify(tampered, x509_cert=cert_pem.decode())
    with pytest.raises(AssertionError):
        check_signature(tampered, cert_pem)
    # Signed by another key: the certificate on file does not verify it.
    other = signing_identity(common_name="Someone else")
    with pytest.raises(InvalidSignature):
        check_signature(document, other.cert_pem)


def test_a_configured_key_signs_and_no_development_key_is_made(
    db: Engine, api_settings: Settings, tmp_path: Path, token: Token, orgs: dict[str, str], pupil: Pupil
) -> None:
    identity = signing_identity(common_name="Kompetanseregisteret (test)")
    (tmp_path / "elmo-key.pem").write_bytes(identity.key_pem)
    (tmp_path / "elmo-cert.pem").write_bytes(identity.cert_pem)
    settings = api_settings.model_copy(
        update={
            "elmo_signing_key_path": tmp_path / "elmo-key.pem",
            "elmo_signing_cert_path": tmp_path / "elmo-cert.pem",
        }
    )
    with TestClient(create_app(settings, engine=db), raise_server_exceptions=False) as client:
        document = _elmo(client, token, orgs["portal"], {"nin": pupil.nin})
    XMLVerifier().verify(document, x509_cert=identity.cert_pem.decode())
    check_signature(document, identity.cert_pem)
    assert not (api_settings.data_dir / DEV_KEY_FILE).exists()


def test_production_without_a_key_serves_no_elmo(
    db: Engine, api_settings: Settings, token: Token, orgs: dict[str, str], pupil: Pupil
) -> None:
    production = api_settings.model_copy(update={"environment": "production"})
    with TestClient(create_app(production, engine=db), raise_server_exceptions=False) as client:
        answer = client.post(
            "/v1/persons/elmo", json={"nin": pupil.nin}, headers=bearer(token(orgs["portal"], READ))
        )
    assert answer.status_code == 503
    assert answer.json()["code"] == "elmo.signing_not_configured"
    assert "REGISTER_ELMO_SIGNING_KEY_PATH" in answer.json()["detail"]
    assert not (api_settings.data_dir / DEV_KEY_FILE).exists()


def test_half_a_configuration_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="REGISTER_ELMO_SIGNING_CERT_PATH"):
        Settings(elmo_signing_key_path=tmp_path / "key.pem")


def test_the_domain_function_gives_the_selection_signed(
    db: Engine, api_settings: Settings, pupil: Pupil
) -> None:
    """What the citizen's pages call: a person id and a selection in, a signed document out."""
    with db.begin() as conn:
        person_id = person_id_by_nin(conn, pupil.nin, allow_synthetic=True)
        export = person_elmo(conn, person_id, Selection(sectors=("primary",), passed_only=True), api_settings)
    assert export.signed and export.achievement_ids
    check_signature(export.document, (api_settings.data_dir / DEV_CERT_FILE).read_bytes())


def test_a_configured_key_that_cannot_be_read_is_the_registers_fault(
    db: Engine, api_settings: Settings, tmp_path: Path, token: Token, orgs: dict[str, str], pupil: Pupil
) -> None:
    settings = api_settings.model_copy(
        update={
            "elmo_signing_key_path": tmp_path / "absent.pem",
            "elmo_signing_cert_path": tmp_path / "absent.crt",
        }
    )
    with TestClient(create_app(settings, engine=db), raise_server_exceptions=False) as client:
        answer = client.post(
            "/v1/persons/elmo", json={"nin": pupil.nin}, headers=bearer(token(orgs["portal"], READ))
        )
    assert answer.status_code == 503
    assert answer.json()["code"] == "elmo.signing_key_unreadable"
    assert str(tmp_path) not in answer.text  # the message says what, not where on the server
