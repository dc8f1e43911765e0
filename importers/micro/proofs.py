"""Proofs on micro-credentials: what can be checked offline, checked; the rest recorded as not checked.

Outcomes (``ProofOutcome.status``):

- ``verified`` — a signature that verifies under a key bound to the issuer: a key configured for that
  issuer (``REGISTER_MICRO_ISSUER_JWKS``) or the issuer's own ``did:jwk``.
- ``embedded_key`` — a signature that verifies under a key the document carries itself (a ``jwk`` in
  a JWT header, the certificate of an ELM JAdES seal). Proves the document is intact since signing; not
  who signed it, because nothing ties that key to the issuer without a network look-up (trusted lists).
- ``not_verified`` — a proof the register cannot check offline (Data Integrity proofs, a JWT from an
  issuer with no configured key); ``reason`` says why.
- ``absent`` — no proof at all (the ELM "uploadable" form, plain OB JSON).

A proof that is checked and fails — ``alg: none``, a shared-secret algorithm, a signature that does not
verify under the issuer's key or under the key the JWT names — is never an outcome: it raises
``ProofRejected`` and the credential is rejected.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from jwt import get_algorithm_by_name
from jwt.exceptions import InvalidKeyError, PyJWKError

from importers.micro.jsonstream import StreamError, check_depth

# Asymmetric JWS algorithms only: an HMAC "signature" proves nothing about an issuer, and "none" is no
# signature. ES256K and ES521 are left out as PyJWT names them but VC issuers do not use them.
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_HEADER_BYTES = 64 * 1024
# JSON inside a JWT or a seal was a string to the splitter; its nesting is bounded here instead.
MAX_DEPTH = 64


class ProofRejected(Exception):
    """A proof was checked and failed, or cannot be read: the credential is rejected."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ProofOutcome:
    status: str  # verified | embedded_key | not_verified | absent
    method: str  # "vc-jwt", "jades", "DataIntegrityProof/eddsa-rdfc-2022", "none"
    reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "method": self.method}
        if self.reason:
            out["reason"] = self.reason
        out.update(self.facts)
        return out


@dataclass(frozen=True, slots=True)
class TrustedIssuerKeys:
    """Public keys of VC-JWT issuers, by issuer id (URL or DID), as JWK dicts."""

    by_issuer: Mapping[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)

    @classmethod
    def from_files(cls, files: Mapping[str, Path]) -> TrustedIssuerKeys:
        """Read one JWKS file per issuer; a file that cannot be read is a configuration error (raises)."""
        loaded: dict[str, tuple[dict[str, Any], ...]] = {}
        for issuer, path in files.items():
            try:
                document = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ValueError(f"JWKS file for issuer {issuer} cannot be read: {exc}") from exc
            keys = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
                raise ValueError(f"JWKS file for issuer {issuer} has no 'keys' list")
            loaded[issuer] = tuple(keys)
        return cls(loaded)


def _b64url(part: str | bytes, what: str) -> bytes:
    try:
        raw = part.encode("ascii") if isinstance(part, str) else part
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise ProofRejected("micro.jwt.malformed", f"the {what} is not base64url") from None


def _loads_bounded(data: bytes | str, what: str, code: str) -> Any:
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    try:
        check_depth(raw, MAX_DEPTH)
    except StreamError as exc:
        raise ProofRejected(exc.code, f"the {what}: {exc.message}") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise ProofRejected(code, f"the {what} is not JSON") from None


def _json_part(part: bytes, what: str) -> dict[str, Any]:
    try:
        value = _loads_bounded(_b64url(part, what), what, "micro.jwt.malformed")
    except ValueError:
        raise ProofRejected("micro.jwt.malformed", f"the {what} is not JSON") from None
    if not isinstance(value, dict):
        raise ProofRejected("micro.jwt.malformed", f"the {what} is not a JSON object")
    return value


def _check_algorithm(alg: object, where: str) -> str:
    if not isinstance(alg, str) or alg.lower() == "none":
        raise ProofRejected(
            "micro.jwt.alg_none",
            f"the {where} declares alg {alg!r}: an unsigned credential cannot claim a signature",
        )
    if alg.startswith("HS"):
        raise ProofRejected(
            "micro.jwt.alg_symmetric",
            f"the {where} uses {alg}, a shared-secret algorithm: it cannot prove who issued the credential",
        )
    if alg not in ALLOWED_ALGORITHMS:
        allowed = ", ".join(sorted(ALLOWED_ALGORITHMS))
        raise ProofRejected("micro.jwt.alg_unsupported", f"the {where} uses {alg!r} (accepted: {allowed})")
    return alg


def _verifies(alg: str, jwk: Mapping[str, Any], signing_input: bytes, signature: bytes) -> bool:
    algorithm = get_algorithm_by_name(alg)
    try:
        key = algorithm.from_jwk(json.dumps(dict(jwk)))
    except (InvalidKeyError, PyJWKError, ValueError, TypeError, KeyError):
        return False  # a key of another type (an EC key for RS256) cannot have made this signature
    try:
        return bool(algorithm.verify(signing_input, key, signature))
    except (ValueError, TypeError):
        return False


def did_jwk_key(did: str) -> dict[str, Any] | None:
    """The public JWK a ``did:jwk`` identifier carries (RFC 7517 JSON, base64url), or None."""
    if not did.startswith("did:jwk:"):
        return None
    encoded = did[len("did:jwk:") :].split("#", 1)[0]
    try:
        value = json.loads(_b64url(encoded, "did:jwk identifier"))
    except (ProofRejected, ValueError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class JwtCredential:
    credential: dict[str, Any]
    proof: ProofOutcome


def read_vc_jwt(token: bytes, trusted: TrustedIssuerKeys) -> JwtCredential:
    """Verify a compact VC-JWT and return the credential it carries, with the proof outcome.

    Both encodings are read: VC Data Model 1.1 (``vc`` claim, with ``iss``/``jti``/``nbf``/``exp``/``sub``
    standing for issuer, id, validFrom, validUntil and subject id) and VC-JOSE-COSE (the claims are the
    credential). Raises ProofRejected for anything that fails.
    """
    parts = token.strip().split(b".")
    if len(parts) != 3:
        raise ProofRejected("micro.jwt.malformed", "a compact JWT has three parts separated by dots")
    header_b64, payload_b64, signature_b64 = parts
    if len(header_b64) > MAX_HEADER_BYTES:
        raise ProofRejected("micro.jwt.malformed", "the JWT header is larger than 64 KiB")
    header = _json_part(header_b64, "JWT header")
    alg = _check_algorithm(header.get("alg"), "JWT header")
    if header.get("crit"):
        raise ProofRejected(
            "micro.jwt.crit_unsupported",
            f"the JWT header marks {header['crit']!r} critical; none are understood",
        )
    claims = _json_part(payload_b64, "JWT payload")
    credential = _credential_from_claims(claims)
    issuer = _issuer_id(credential)
    signing_input = header_b64 + b"." + payload_b64
    signature = _b64url(signature_b64, "JWT signature")
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    facts: dict[str, Any] = {"alg": alg}
    if kid:
        facts["kid"] = kid

    configured = trusted.by_issuer.get(issuer or "")
    if configured:
        candidates = [k for k in configured if kid is None or k.get("kid") in (None, kid)]
        if not candidates:
            raise ProofRejected(
                "micro.jwt.key_unknown",
                f"the JWT names key {kid!r}, which is not among the keys configured for issuer {issuer}",
            )
        if any(_verifies(alg, key, signing_input, signature) for key in candidates):
            return JwtCredential(
                credential, ProofOutcome("verified", "vc-jwt", None, facts | {"key": "configured"})
            )
        raise ProofRejected(
            "micro.jwt.signature_invalid",
            f"the JWT signature does not verify under the key configured for issuer {issuer}",
        )

    did_key = did_jwk_key(issuer or "")
    if did_key is not None:
        # the issuer's id is its key: a signature under it is the issuer's, with no look-up
        if _verifies(alg, did_key, signing_input, signature):
            return JwtCredential(
                credential, ProofOutcome("verified", "vc-jwt", None, facts | {"key": "did:jwk"})
            )
        raise ProofRejected(
            "micro.jwt.signature_invalid",
            "the JWT signature does not verify under the issuer's own did:jwk key",
        )

    embedded = header.get("jwk")
    if not isinstance(embedded, dict) and kid:
        embedded = did_jwk_key(kid)
    if isinstance(embedded, dict):
        if "d" in embedded:
            raise ProofRejected(
                "micro.jwt.private_key", "the JWT header carries a private key ('d'); refused"
            )
        if _verifies(alg, embedded, signing_input, signature):
            reason = (
                "the signature verifies under a key the JWT names itself, which nothing ties to the issuer"
            )
            return JwtCredential(credential, ProofOutcome("embedded_key", "vc-jwt", reason, facts))
        raise ProofRejected(
            "micro.jwt.signature_invalid", "the JWT signature does not verify under the key its header names"
        )

    reason = (
        f"no key is configured for issuer {issuer} (REGISTER_MICRO_ISSUER_JWKS) and the JWT carries none;"
        " keys are never fetched over the network"
    )
    return JwtCredential(credential, ProofOutcome("not_verified", "vc-jwt", reason, facts))


def _credential_from_claims(claims: dict[str, Any]) -> dict[str, Any]:
    vc = claims.get("vc")
    if isinstance(vc, dict):
        credential = dict(vc)
        # VC-JWT (VC Data Model 1.1, section 6.3.1): registered claims stand for credential properties.
        if "iss" in claims and "issuer" not in credential:
            credential["issuer"] = claims["iss"]
        if "jti" in claims and "id" not in credential:
            credential["id"] = claims["jti"]
        for claim, props in (
            ("nbf", ("validFrom", "issuanceDate")),
            ("exp", ("validUntil", "expirationDate")),
        ):
            value = claims.get(claim)
            if isinstance(value, int | float) and not any(p in credential for p in props):
                stamp = dt.datetime.fromtimestamp(value, dt.UTC).isoformat().replace("+00:00", "Z")
                credential[props[0]] = stamp
        subject = credential.get("credentialSubject")
        if isinstance(subject, dict) and "sub" in claims and "id" not in subject:
            credential["credentialSubject"] = {**subject, "id": claims["sub"]}
        claimed_iss = claims.get("iss")
        issuer = _issuer_id(credential)
        if isinstance(claimed_iss, str) and issuer and claimed_iss != issuer:
            raise ProofRejected(
                "micro.jwt.issuer_mismatch",
                f"the JWT iss {claimed_iss} differs from the credential issuer {issuer}",
            )
        return credential
    if "credentialSubject" in claims or "@context" in claims:
        return claims
    raise ProofRejected("micro.jwt.no_credential", "the JWT carries no verifiable credential (no 'vc' claim)")


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def read_jades(wrapper: Mapping[str, Any]) -> tuple[dict[str, Any], ProofOutcome]:
    """Unwrap an ELM credential sealed as JWS JSON serialization (JAdES, as Europass signs them).

    The signature is checked against the certificate the seal carries (``x5c``). Whether that certificate
    is a qualified seal of the issuer is a question for the EU trusted lists, which are fetched over the
    network, so the outcome is at best ``embedded_key``.
    """
    signatures = wrapper.get("signatures")
    if isinstance(signatures, list) and signatures:
        entry = signatures[0]
    elif "signature" in wrapper:
        entry = wrapper
    else:
        raise ProofRejected("micro.jades.malformed", "the signed credential has no signature")
    if not isinstance(entry, Mapping) or not isinstance(entry.get("protected"), str):
        raise ProofRejected("micro.jades.malformed", "the signature has no protected header")
    protected_b64 = entry["protected"].encode("ascii", "replace")
    if len(protected_b64) > 4 * MAX_HEADER_BYTES:
        raise ProofRejected(
            "micro.jades.malformed", "the signature's protected header is larger than 256 KiB"
        )
    header = _json_part(protected_b64, "JAdES protected header")
    alg = _check_algorithm(header.get("alg"), "JAdES protected header")
    payload = wrapper.get("payload")
    if not isinstance(payload, str):
        raise ProofRejected("micro.jades.malformed", "the signed credential's payload is not a string")
    unencoded = header.get("b64") is False
    payload_bytes = payload.encode("utf-8") if unencoded else payload.encode("ascii", "replace")
    signing_input = protected_b64 + b"." + payload_bytes
    signature = _b64url(str(entry.get("signature", "")), "JAdES signature")
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise ProofRejected(
            "micro.jades.no_certificate", "the seal carries no certificate (x5c) to verify with"
        )
    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
    except (ValueError, binascii.Error):
        raise ProofRejected(
            "micro.jades.no_certificate", "the seal's certificate (x5c) cannot be read"
        ) from None
    jwk = json.loads(get_algorithm_by_name(alg).to_jwk(certificate.public_key()))
    if not _verifies(alg, jwk, signing_input, signature):
        raise ProofRejected(
            "micro.jades.signature_invalid", "the seal's signature does not verify under its own certificate"
        )
    text = payload if unencoded else _b64url(payload, "JAdES payload").decode("utf-8", "replace")
    credential = _loads_bounded(text, "sealed payload", "micro.jades.malformed")
    if not isinstance(credential, dict):
        raise ProofRejected("micro.jades.malformed", "the sealed payload is not a JSON object")
    facts: dict[str, Any] = {
        "alg": alg,
        "certificate_subject": certificate.subject.rfc4514_string(),
        "certificate_valid_from": certificate.not_valid_before_utc.isoformat(),
        "certificate_valid_until": certificate.not_valid_after_utc.isoformat(),
    }
    if isinstance(header.get("sigT"), str):
        facts["signed_at"] = header["sigT"]
    reason = (
        "the seal verifies under the certificate it carries; that certificate was not checked against the"
        " EU trusted lists (they are fetched over the network)"
    )
    return credential, ProofOutcome("embedded_key", "jades", reason, facts)


def embedded_proof_outcome(credential: Mapping[str, Any]) -> ProofOutcome:
    """The outcome for a credential in plain JSON: a Data Integrity proof is recorded, not verified."""
    proof = credential.get("proof")
    proofs = proof if isinstance(proof, list) else [proof] if isinstance(proof, dict) else []
    if not proofs:
        return ProofOutcome("absent", "none", "the credential carries no proof")
    first = proofs[0] if isinstance(proofs[0], dict) else {}
    method = str(first.get("type", "unknown"))
    if first.get("cryptosuite"):
        method += f"/{first['cryptosuite']}"
    reason = (
        "Data Integrity proofs need JSON-LD canonicalization and the verification method's key document"
        " (fetched over the network); no maintained Python library verifies them offline"
    )
    facts = (
        {"verification_method": first["verificationMethod"]}
        if isinstance(first.get("verificationMethod"), str)
        else {}
    )
    return ProofOutcome("not_verified", method, reason, facts)
