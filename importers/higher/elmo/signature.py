"""Verification of the enveloped XML-DSig signature an ELMO document may carry.

What "valid" means here: the signature verifies with the certificate the document carries in its
KeyInfo (nothing was changed after signing), and that certificate is within its validity period now.
Whether the certificate's subject is an institution the register trusts is not decided here: the
subject is recorded on the batch so that an operator can see who signed.

Real EMREX providers sign with RSA-SHA1 (every shared example does); SHA-1 is accepted for
verification, but the algorithm is recorded so that a weak signature is visible.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from lxml import etree
from signxml import InvalidInput as SignxmlInvalidInput
from signxml import InvalidSignature, SignatureConfiguration, XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod

from importers.base import UnusableInput
from importers.higher.elmo.reader import DSIG_NS, check_prolog, local_name, secure_parser, syntax_error

_ALLOWED_METHODS = frozenset(m for m in SignatureMethod if not m.name.startswith("HMAC"))


def _config(at: dt.datetime) -> SignatureConfiguration:
    # Integrity is checked at a moment inside the certificate's validity, so that an expired
    # certificate is told apart from a changed document; expiry is judged separately below.
    return SignatureConfiguration(
        require_x509=True,
        location=".//",
        expect_references=1,
        signature_methods=_ALLOWED_METHODS,
        digest_algorithms=frozenset(DigestAlgorithm),
        verification_time=at,
    )


@dataclass(slots=True)
class SignatureOutcome:
    """``status``: absent, valid, invalid, expired or not_verified."""

    status: str
    reason: str | None = None
    subject: str | None = None
    issuer: str | None = None
    not_after: str | None = None
    algorithm: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        for key in ("reason", "subject", "issuer", "not_after", "algorithm"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def verify_document(document: bytes, *, now: dt.datetime | None = None) -> SignatureOutcome:
    """Parse ``document`` (securely) and verify its signature, if it has one."""
    if DSIG_NS.encode() not in document:
        return SignatureOutcome("absent")
    check_prolog(document[:65536])
    parser = secure_parser()  # comments kept: they may be part of the digest
    try:
        root = etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc) from None
    signatures = list(root.iter(f"{{{DSIG_NS}}}Signature"))
    # A diploma supplement may carry its own signature; the document's is the one enveloping an elmo.
    signatures = [s for s in signatures if (p := s.getparent()) is not None and local_name(p) == "elmo"]
    if not signatures:
        return SignatureOutcome("absent")
    if len(signatures) > 1:
        return SignatureOutcome("not_verified", reason=f"the file carries {len(signatures)} signatures")
    signature = signatures[0]
    method = signature.find(f"{{{DSIG_NS}}}SignedInfo/{{{DSIG_NS}}}SignatureMethod")
    algorithm = method.get("Algorithm") if method is not None else None
    cert_element = signature.find(f".//{{{DSIG_NS}}}X509Certificate")
    if cert_element is None or not (cert_element.text or "").strip():
        return SignatureOutcome("invalid", reason="no X509Certificate in KeyInfo", algorithm=algorithm)
    try:
        der = base64.b64decode("".join((cert_element.text or "").split()), validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        return SignatureOutcome(
            "invalid", reason=f"the certificate cannot be read: {exc}", algorithm=algorithm
        )
    outcome = SignatureOutcome(
        "valid",
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_after=certificate.not_valid_after_utc.isoformat(),
        algorithm=algorithm,
    )
    try:
        XMLVerifier().verify(
            root, x509_cert=certificate, expect_config=_config(certificate.not_valid_before_utc)
        )
    except (InvalidSignature, SignxmlInvalidInput) as exc:
        outcome.status, outcome.reason = "invalid", str(exc) or type(exc).__name__
        return outcome
    except UnusableInput:
        raise
    except Exception as exc:  # signxml raises assorted errors for malformed SignedInfo
        outcome.status, outcome.reason = "invalid", f"{type(exc).__name__}: {exc}"
        return outcome
    moment = now or dt.datetime.now(dt.UTC)
    if not (certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc):
        outcome.status = "expired"
        outcome.reason = (
            f"the certificate is valid from {certificate.not_valid_before_utc.date()}"
            f" to {certificate.not_valid_after_utc.date()}"
        )
    return outcome
