"""Batches, and input that must be refused early with bounded memory."""

from __future__ import annotations

import base64
import io
import json
import tracemalloc
from typing import Any

import pytest

from importers.base import ImportContext, UnusableInput
from importers.micro.importer import MicroCredentialImporter
from register.sectors import Sector
from register.settings import Settings
from tests.importers.micro.helpers import (
    LEARNER,
    codes,
    config,
    errors,
    extract,
    full_badge,
    full_elm,
    records,
)

MB = 1024 * 1024


class Repeated(io.RawIOBase):
    """A stream of ``prefix`` then ``size`` bytes of ``fill``, produced as read (never held whole)."""

    def __init__(self, prefix: bytes, fill: bytes, size: int) -> None:
        self.prefix, self.fill, self.left = prefix, fill, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.prefix:
            n = len(self.prefix)
            buffer[:n] = self.prefix
            self.prefix = b""
            return n
        n = min(len(buffer), self.left)
        buffer[:n] = self.fill * n
        self.left -= n
        return n


def _run_measured(source: io.RawIOBase) -> tuple[list[Any], UnusableInput | None, float]:
    importer = MicroCredentialImporter(config())
    context = ImportContext(sector=Sector.MICRO, provider_orgnr="999999999")
    tracemalloc.start()
    failure, items = None, []
    try:
        items = list(importer.extract(io.BufferedReader(source), context))
    except UnusableInput as exc:
        failure = exc
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    return items, failure, peak


@pytest.mark.parametrize(
    ("prefix", "code"),
    [(b"", "micro.json_malformed"), (b'{"type": ["VerifiableCredential"], "a": ', "micro.too_deep")],
    ids=["top-level", "inside-a-credential"],
)
def test_100_mb_of_nested_arrays_is_refused_before_parsing(prefix: bytes, code: str) -> None:
    items, failure, peak = _run_measured(Repeated(prefix, b"[", 100 * MB))
    assert failure is not None and failure.code == code
    assert items == []
    assert peak < 16, f"peak memory {peak:.1f} MiB"


def test_a_100_mb_credential_is_skipped_unread_and_the_next_one_imports() -> None:
    good = json.dumps(full_badge()).encode()
    huge = b'{"type": ["VerifiableCredential"], "padding": "'

    class HugeThenGood(Repeated):
        """The 100 MB string credential, then a normal one."""

        def __init__(self) -> None:
            super().__init__(huge, b"x", 100 * MB)
            self.tail = b'"}\n' + good + b"\n"

        def readinto(self, buffer: Any) -> int:
            n = super().readinto(buffer)
            if n == 0 and self.tail:
                n = len(self.tail)
                buffer[:n] = self.tail
                self.tail = b""
            return n

    items, failure, peak = _run_measured(HugeThenGood())
    assert failure is None
    assert codes(items)[0] == "micro.too_large"
    assert errors(items)[0].record == "credential 1"
    assert len(records(items)) == 1 and records(items)[0].ref == "credential 2"
    assert peak < 40, f"peak memory {peak:.1f} MiB"


@pytest.mark.parametrize(
    "content",
    [
        b'{"type": ["VerifiableCredential"], "name": "x"',
        b'{"a": 1}}',
        b"{]",
        b'[{"a": 1}, 42]',
        b"not json at all {",
    ],
    ids=["truncated", "extra-close", "mismatched", "number-in-batch", "garbage"],
)
def test_malformed_json_makes_the_file_unusable(content: bytes) -> None:
    with pytest.raises(UnusableInput) as caught:
        extract(content)
    assert caught.value.code in ("micro.json_malformed", "micro.format")
    assert "byte" in caught.value.message or "line" in caught.value.message


def test_balanced_but_invalid_json_rejects_only_that_credential() -> None:
    good = json.dumps(full_badge()).encode()
    items = extract(b'{"type": tru, "x": NaN}\n' + good + b"\n" + b'{"n": NaN}\n')
    assert [e.code for e in errors(items)] == ["micro.json_invalid", "micro.json_invalid"]
    assert [e.record for e in errors(items)] == ["credential 1", "credential 3"]
    assert len(records(items)) == 1


def test_empty_file_is_unusable() -> None:
    with pytest.raises(UnusableInput) as caught:
        extract(b"  \n ")
    assert caught.value.code == "micro.empty"


def test_upload_over_the_limit_is_unusable() -> None:
    importer = MicroCredentialImporter(config())
    context = ImportContext(
        sector=Sector.MICRO, provider_orgnr="999999999", settings=Settings(max_upload_bytes=4096)
    )
    content = json.dumps([full_elm()] * 3).encode()
    with pytest.raises(UnusableInput) as caught:
        list(importer.extract(io.BytesIO(content), context))
    assert caught.value.code == "micro.too_large"


def test_batch_as_array_as_json_lines_and_with_envelopes() -> None:
    first, second = full_elm(credential_id="urn:credential:a"), full_badge(credential_id="urn:uuid:b")
    as_array = extract([first, second])
    as_lines = extract(json.dumps(first).encode() + b"\n" + json.dumps(second).encode() + b"\n")
    assert [r.source_key for r in records(as_array)] == ["urn:credential:a", "urn:uuid:b"]
    assert [r.source_key for r in records(as_lines)] == ["urn:credential:a", "urn:uuid:b"]
    assert [r.ref for r in records(as_lines)] == ["credential 1", "credential 2"]


def test_envelope_names_the_learner_and_must_agree_with_the_credential() -> None:
    badge = full_badge()
    del badge["credentialSubject"]["identifier"]
    (record,) = records(extract({"learner": {"nin": LEARNER.nin}, "credential": badge}))
    assert record.person.identifiers[0].value == LEARNER.nin
    other = "01818712345"
    items = extract({"learner": {"nin": other}, "credential": full_badge()})
    assert codes(items) == ["micro.learner_conflict"]
    assert other not in errors(items)[0].message and LEARNER.nin not in errors(items)[0].message


def test_hashed_national_id_is_matched_against_the_envelope() -> None:
    import hashlib

    badge = full_badge()
    salt = "pepper"
    badge["credentialSubject"]["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "nationalIdentityNumber",
            "hashed": True,
            "salt": salt,
            "identityHash": "sha256$" + hashlib.sha256((LEARNER.nin + salt).encode()).hexdigest(),
        }
    ]
    assert codes(extract(badge)) == ["micro.element_missing.learner"]
    assert len(records(extract({"learner": {"nin": LEARNER.nin}, "credential": badge}))) == 1
    assert codes(extract({"learner": {"nin": "01818712345"}, "credential": badge})) == [
        "micro.learner_conflict"
    ]


def test_a_credential_of_another_kind_is_rejected_by_type() -> None:
    items = extract(
        {"@context": [], "type": ["VerifiableCredential", "DriversLicence"], "credentialSubject": {}}
    )
    assert codes(items) == ["micro.type_unknown"]
    assert "DriversLicence" in errors(items)[0].message


def test_an_issuer_with_only_a_document_local_id_is_rejected() -> None:
    credential = full_elm()
    org = credential["credentialSubject"]["hasClaim"]["awardedBy"]["awardingBody"]
    del org["registration"]
    items = extract(credential)
    assert codes(items) == ["micro.issuer_unidentifiable"]
    assert "urn:epass:org:" in errors(items)[0].message


def test_no_national_id_appears_in_any_message() -> None:
    credential = full_elm()
    credential["credentialSubject"]["hasClaim"]["specifiedBy"].pop("title")
    credential["credentialSubject"]["hasClaim"].pop("title")
    items = extract([credential, {"learner": {"nin": "01818712345"}, "credential": full_badge()}])
    assert len(items) == 2
    for item in items:
        assert LEARNER.nin not in item.message and "01818712345" not in item.message  # type: ignore[union-attr]


def _seal(payload: str) -> dict[str, Any]:
    """A JAdES-shaped seal (unencoded payload, RS256, self-signed certificate) as Europass writes them."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import NameOID

    from demo.micro import b64url

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST SEAL")])
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    der = certificate.public_bytes(serialization.Encoding.DER)
    header = {"alg": "RS256", "b64": False, "crit": ["b64"], "x5c": [base64.b64encode(der).decode()]}
    protected = b64url(json.dumps(header).encode())
    signature = key.sign(protected.encode() + b"." + payload.encode(), padding.PKCS1v15(), hashes.SHA256())
    return {"payload": payload, "signatures": [{"protected": protected, "signature": b64url(signature)}]}


def test_a_seal_made_like_europass_verifies_and_a_deep_payload_is_refused() -> None:
    (record,) = records(extract(_seal(json.dumps(full_elm()))))
    assert record.details is not None and record.details["proof"]["status"] == "embedded_key"
    deep = _seal("[" * 200_000 + "]" * 200_000)
    assert codes(extract(deep)) == ["micro.too_deep"]


def test_deep_nesting_inside_a_jwt_is_refused_before_parsing() -> None:
    from demo.micro import b64url

    deep = b'{"vc": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    header = b64url(json.dumps({"alg": "EdDSA"}).encode())
    token = f"{header}.{b64url(deep)}.c2ln".encode()
    assert codes(extract(token + b"\n")) == ["micro.too_deep"]


def test_an_elm_credential_with_two_claims_is_two_results() -> None:
    credential = full_elm()
    first = credential["credentialSubject"]["hasClaim"]
    second = json.loads(json.dumps(first)) | {"id": "urn:epass:learningAchievement:2"}
    second["specifiedBy"]["title"] = {"nb": "Videregående maskinlæring"}
    credential["credentialSubject"]["hasClaim"] = [first, second]
    items = extract(credential)
    assert [r.source_key for r in records(items)] == [
        "urn:credential:test-1#urn:epass:learningAchievement:1",
        "urn:credential:test-1#urn:epass:learningAchievement:2",
    ]
    assert [r.ref for r in records(items)][1] == "credential 1, claim urn:epass:learningAchievement:2"
    assert [r.specification.title["nb"] for r in records(items)] == [
        "Grunnleggende maskinlæring",
        "Videregående maskinlæring",
    ]
