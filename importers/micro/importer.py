"""The micro-credential importer: ELM v3 and Open Badges 3.0, as JSON, signed JSON or VC-JWT.

One delivery holds one credential or many (a JSON array, JSON Lines, or JWTs one per line). Each
credential may come bare or in the register's envelope, which names the learner when the credential
itself does not carry a Norwegian national id::

    {"learner": {"nin": "…"}, "credential": <credential object or compact VC-JWT string>}

Nothing is fetched over the network: JSON-LD is read as JSON by the formats' fixed property names, keys
come from configuration or from the credential itself, status lists are recorded as not checked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

from importers.base import ImportContext, Item, UnusableInput
from importers.micro import known_pieces
from importers.micro.common import types_of
from importers.micro.council import ELEMENTS_BY_KEY, CredentialFacts, Outcome, missing_elements
from importers.micro.elm import is_elm, read_elm
from importers.micro.jsonstream import Piece, StreamError, split_documents
from importers.micro.openbadges import is_open_badge, read_open_badge
from importers.micro.proofs import (
    ProofOutcome,
    ProofRejected,
    TrustedIssuerKeys,
    embedded_proof_outcome,
    read_jades,
    read_vc_jwt,
)
from register.grading import AchievementKind, GradeScheme, SpecificationKind
from register.ingest.known_input import KnownSpan
from register.records import (
    AchievementRecord,
    BatchWarning,
    GradeIn,
    IdentifierIn,
    PersonIn,
    RecordError,
    SpecificationIn,
)
from register.sectors import Sector
from register.settings import Settings

FORMAT_MARKERS = (
    b"EuropeanDigitalCredential",
    b"OpenBadgeCredential",
    b"AchievementCredential",
    b"VerifiableCredential",
)
STATUS_NOT_CHECKED = (
    "status lists are published on the issuer's server and the importer reads nothing over the network;"
    " revocation was not checked"
)


@dataclass(frozen=True, slots=True)
class MicroConfig:
    """The importer's policy, normally from ``Settings`` (``REGISTER_MICRO_*``)."""

    trusted_keys: TrustedIssuerKeys = field(default_factory=TrustedIssuerKeys)
    expired: str = "import"  # "import" (with a warning, validity kept) | "reject"
    require_verified_proof: bool = False
    max_credential_bytes: int = 16 * 1024**2
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    @classmethod
    def from_settings(cls, settings: Settings) -> MicroConfig:
        return cls(
            trusted_keys=TrustedIssuerKeys.from_files(settings.micro_issuer_jwks),
            expired=settings.micro_expired_credentials,
            require_verified_proof=settings.micro_require_verified_proof,
            max_credential_bytes=settings.micro_max_credential_bytes,
        )


class _Rejected(Exception):
    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.path = code, message, path


@dataclass(slots=True)
class _Unwrapped:
    credential: dict[str, Any]
    proof: ProofOutcome
    envelope_nin: str | None
    source_bytes: bytes


class MicroCredentialImporter:
    """Reads ELM v3 and Open Badges 3.0 credentials for the micro sector (see the module docstring)."""

    name: ClassVar[str] = "micro-credential"
    #: raised whenever what a credential makes changes: the credentials remembered from earlier
    #: deliveries (register.ingest.known_input) are then read again
    mapping_version: ClassVar[int] = 1
    sectors: ClassVar[frozenset[Sector]] = frozenset({Sector.MICRO})
    # The learner of a credential is its subject (or the envelope's learner, named in the same way).
    field_names: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "person": "credentialSubject",
            "person.identifiers": "credentialSubject",
            "person.identifiers[0]": "credentialSubject",
        }
    )

    def __init__(self, config: MicroConfig | None = None) -> None:
        # None: read from the register's settings at each import, so a changed key file is picked up
        self.config = config

    def identify(self, head: bytes, filename: str | None, content_type: str | None) -> bool:
        if content_type and content_type.split(";")[0].strip() in (
            "application/vc+jwt",
            "application/vc+ld+json",
            "application/vc",
        ):
            return True
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if text.startswith(b"eyJ"):
            first_line = text.split(b"\n", 1)[0].strip()
            return first_line.count(b".") == 2
        if not text.startswith((b"{", b"[")):
            return False
        if any(marker in head for marker in FORMAT_MARKERS):
            return True
        # the envelope and the Europass "uploadable" form may put the credential past the head
        return b'"credential"' in head and (b'"learner"' in head or text.startswith((b'{"credential"', b"[")))

    def extract(self, source: BinaryIO, context: ImportContext) -> Iterator[Item]:
        """Yield one record per credential (per claim, for ELM credentials with several), or its rejection.

        Raises UnusableInput when the file's structure is broken or hostile (malformed JSON around the
        credentials, nesting deeper than ``context.max_xml_depth``, over the size limit).
        """
        config = self.config or MicroConfig.from_settings(context.settings)
        context.facts.format = self.name
        counts: dict[str, int] = {}
        pieces = split_documents(
            source,
            max_total_bytes=context.max_bytes,
            max_item_bytes=config.max_credential_bytes,
            max_depth=context.max_xml_depth,
        )
        if context.known is not None:
            # Credentials delivered before by this provider are not read again (importers.micro.known_pieces).
            items = known_pieces.extract(self, pieces, context, config, context.known)
        else:
            items = (item for piece in pieces for item in self._read_piece(piece, context, config))
        try:
            for item in items:
                if isinstance(item, AchievementRecord):
                    fmt = str((item.details or {}).get("format", "?"))
                    counts[fmt] = counts.get(fmt, 0) + 1
                elif isinstance(item, KnownSpan):
                    for fmt in known_pieces.formats_of(item):
                        counts[fmt] = counts.get(fmt, 0) + 1
                yield item
        except StreamError as exc:
            raise UnusableInput(exc.code, exc.message) from None
        context.facts.details["credentials_by_format"] = counts

    def _read_piece(self, piece: Piece, context: ImportContext, config: MicroConfig) -> Iterator[Item]:
        ref = f"credential {piece.index}"
        if piece.data is None:
            yield RecordError(
                ref,
                "micro.too_large",
                f"{ref} is {piece.size} bytes, over the limit of {config.max_credential_bytes} bytes per"
                " credential (REGISTER_MICRO_MAX_CREDENTIAL_BYTES); it was skipped unread",
            )
            return
        try:
            unwrapped = self._unwrap(piece, config)
            yield from self._records(ref, unwrapped, context, config)
        except _Rejected as exc:
            yield RecordError(ref, exc.code, f"{ref}: {exc.message}", exc.path)
        except ProofRejected as exc:
            yield RecordError(ref, exc.code, f"{ref}: {exc.message}", "proof")
        except RecursionError:
            # every JSON text is depth-checked before parsing; this is the last guard, not the plan
            yield RecordError(ref, "micro.too_deep", f"{ref}: the credential nests too deeply to be read")

    # -- reading one document -------------------------------------------------------------------

    def _unwrap(self, piece: Piece, config: MicroConfig) -> _Unwrapped:
        assert piece.data is not None
        if piece.kind == "jwt":
            token = _loads(piece.data) if piece.data.startswith(b'"') else piece.data.decode("ascii")
            if not isinstance(token, str):
                raise _Rejected("micro.json_invalid", "the array element is not a JWT string")
            return self._from_jwt(token, None, config)
        document = _loads(piece.data)
        if not isinstance(document, dict):
            raise _Rejected("micro.json_invalid", "a credential must be a JSON object")
        envelope_nin: str | None = None
        if "credential" in document and not ({"type", "@context", "credentialSubject"} & document.keys()):
            learner = document.get("learner")
            if learner is not None:
                nin = learner.get("nin") if isinstance(learner, dict) else None
                if not isinstance(nin, str) or not nin.strip():
                    raise _Rejected(
                        "micro.envelope_invalid",
                        'the envelope\'s learner must be {"nin": "<11 digits>"}',
                        "learner",
                    )
                envelope_nin = nin.strip()
            inner = document["credential"]
            if isinstance(inner, dict) and "credential" in inner and len(inner) == 1:
                # the envelope around Europass's own {"credential": …} upload form
                inner = inner["credential"]
            if isinstance(inner, str):
                return self._from_jwt(inner, envelope_nin, config)
            if not isinstance(inner, dict):
                raise _Rejected(
                    "micro.envelope_invalid", "the envelope's credential is neither an object nor a JWT"
                )
            document = inner
        if isinstance(document.get("payload"), str) and ("signatures" in document or "signature" in document):
            credential, proof = read_jades(document)
            return _Unwrapped(credential, proof, envelope_nin, piece.data)
        return _Unwrapped(document, embedded_proof_outcome(document), envelope_nin, piece.data)

    def _from_jwt(self, token: str, envelope_nin: str | None, config: MicroConfig) -> _Unwrapped:
        read = read_vc_jwt(token.encode("ascii", "replace"), config.trusted_keys)
        return _Unwrapped(read.credential, read.proof, envelope_nin, token.encode("ascii", "replace"))

    # -- mapping -------------------------------------------------------------------------------

    def _records(
        self, ref: str, unwrapped: _Unwrapped, context: ImportContext, config: MicroConfig
    ) -> Iterator[Item]:
        credential = unwrapped.credential
        if is_elm(credential):
            read = read_elm(credential)
        elif is_open_badge(credential):
            read = [(None, read_open_badge(credential))]
        else:
            found = ", ".join(sorted(types_of(credential))) or "none"
            raise _Rejected(
                "micro.type_unknown",
                f"the credential's type ({found}) is neither an ELM EuropeanDigitalCredential nor an Open Badges"
                " OpenBadgeCredential/AchievementCredential",
                "type",
            )
        proof = unwrapped.proof
        if config.require_verified_proof and proof.status != "verified":
            raise _Rejected(
                "micro.proof_not_verified",
                f"the credential's proof is {proof.status} ({proof.reason or proof.method}) and this register"
                " accepts only verified credentials (REGISTER_MICRO_REQUIRE_VERIFIED_PROOF)",
                "proof",
            )
        digest = hashlib.sha256(unwrapped.source_bytes).hexdigest()
        for claim_id, facts in read:
            claim_ref = f"{ref}, claim {claim_id}" if claim_id else ref
            try:
                yield from self._record(claim_ref, claim_id, facts, unwrapped, digest, context, config)
            except _Rejected as exc:
                yield RecordError(claim_ref, exc.code, f"{claim_ref}: {exc.message}", exc.path)

    def _record(
        self,
        ref: str,
        claim_id: str | None,
        facts: CredentialFacts,
        unwrapped: _Unwrapped,
        digest: str,
        context: ImportContext,
        config: MicroConfig,
    ) -> Iterator[Item]:
        nin = _learner_nin(facts, unwrapped.envelope_nin)
        missing = missing_elements(facts, learner_resolved=nin is not None)
        rejecting = [e for e in missing if e.outcome is Outcome.REJECT]
        if facts.awarding_unidentified:
            # the awarding body is there but cannot be matched: say that, not that it is missing
            others = "; ".join(e.title for e in rejecting if e.key != "awarding_body")
            message = facts.awarding_unidentified + (f" (also missing: {others})" if others else "")
            raise _Rejected("micro.issuer_unidentifiable", message, "issuer")
        if rejecting:
            first = rejecting[0]
            message = _missing_message(first.key, facts)
            if len(rejecting) > 1:
                others = "; ".join(e.title for e in rejecting[1:])
                message += f" (also missing: {others})"
            raise _Rejected(f"micro.element_missing.{first.key}", message, first.key)
        assert nin is not None and facts.awarding_org is not None and facts.issued_on is not None

        warnings: list[BatchWarning] = []
        if facts.valid_until_at is not None and facts.valid_until_at < config.now():
            if config.expired == "reject":
                raise _Rejected(
                    "micro.expired",
                    f"the credential expired at {facts.valid_until} (validUntil) and this register rejects"
                    " expired credentials (REGISTER_MICRO_EXPIRED_CREDENTIALS=reject)",
                    "validUntil",
                )
            warnings.append(
                BatchWarning(
                    "micro.expired",
                    f"{ref}: the credential expired at {facts.valid_until}; imported with its validity recorded",
                    ref,
                    "validUntil",
                )
            )
        for element in missing:
            warnings.append(
                BatchWarning(
                    f"micro.element_missing.{element.key}",
                    f"{ref}: {_missing_message(element.key, facts)} — imported: {element.why}",
                    ref,
                    element.key,
                )
            )
        proof = unwrapped.proof
        if proof.status == "not_verified":
            warnings.append(
                BatchWarning(
                    "micro.proof_not_verified", f"{ref}: proof not verified: {proof.reason}", ref, "proof"
                )
            )
        details: dict[str, Any] = {
            "format": facts.format,
            "proof": proof.as_details(),
            "issued_at": facts.issued_at,
        }
        if facts.credential_id:
            details["credential_id"] = facts.credential_id
        if claim_id:
            details["claim_id"] = claim_id
        validity = {
            k: v for k, v in (("valid_from", facts.valid_from), ("valid_until", facts.valid_until)) if v
        }
        if validity:
            details["validity"] = validity
        if facts.credential_status:
            details["credential_status"] = facts.credential_status | {
                "checked": False,
                "reason": STATUS_NOT_CHECKED,
            }
            warnings.append(
                BatchWarning(
                    "micro.status_not_checked",
                    f"{ref}: the credential names a status list ({facts.credential_status.get('type')});"
                    f" {STATUS_NOT_CHECKED}",
                    ref,
                    "credentialStatus",
                )
            )
        if missing:
            details["missing_elements"] = [e.key for e in missing]
        if facts.issuer_country:
            details["issuer_country"] = facts.issuer_country
        if facts.awarding_name:
            details["awarding_body_name"] = facts.awarding_name
        details.update(facts.achievement_details)

        spec_details = dict(facts.spec_details)
        for key, value in (
            ("assessment", facts.assessment),
            ("participation", facts.participation),
            ("quality_assurance", facts.quality_assurance),
            ("workload", facts.workload_other),
        ):
            if value:
                spec_details[key] = value
        if len(facts.iscedf_codes) > 1:
            spec_details["iscedf_codes"] = facts.iscedf_codes
        specification = SpecificationIn(
            kind=SpecificationKind.MICRO_CREDENTIAL,
            title=facts.title,
            code=facts.specification_id,
            code_scheme=("elm" if facts.format == "elm" else "ob3-achievement")
            if facts.specification_id
            else None,
            owner=facts.awarding_org,
            description=facts.description or None,
            credits=facts.credits,
            credit_scheme=facts.credit_scheme,
            nkr_level=facts.nkr_level,
            eqf_level=facts.eqf_level,
            iscedf_code=_most_specific(facts.iscedf_codes),
            learning_outcomes=tuple(facts.learning_outcomes),
            details=spec_details or None,
        )
        grade = (
            GradeIn(GradeScheme.EXTERNAL, facts.grade, passed=True, scheme_description=facts.grading_scheme)
            if facts.grade
            else None
        )
        source_key = facts.credential_id or f"sha256:{digest}"
        if claim_id:
            source_key += f"#{claim_id}"
        record = AchievementRecord(
            ref=ref,
            source_key=source_key,
            sector=context.sector,
            kind=AchievementKind.MICRO_CREDENTIAL,
            person=PersonIn(
                identifiers=(IdentifierIn("nin", nin), *facts.other_identifiers),
                given_name=facts.given_name,
                family_name=facts.family_name,
            ),
            awarding_org=facts.awarding_org,
            specification=specification,
            grade=grade,
            credits=facts.credits,
            credit_scheme=facts.credit_scheme,
            completed_on=facts.issued_on,
            year=facts.issued_on.year,
            details=details,
        )
        yield from warnings
        yield record


def _loads(data: bytes) -> Any:
    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # JSON leaves a repeated key undefined; json.loads keeps the last. A credential that names its
        # subject (or anything else) twice is ambiguous, never silently resolved.
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"the key {key!r} appears twice in one object")
            result[key] = value
        return result

    try:
        return json.loads(data, parse_constant=refuse_constant, object_pairs_hook=refuse_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Rejected("micro.json_invalid", f"the credential is not valid JSON ({exc})") from None


def _learner_nin(facts: CredentialFacts, envelope_nin: str | None) -> str | None:
    found = {n.replace(" ", "") for n in facts.nins if n.strip()}
    if len(found) > 1:
        raise _Rejected(
            "micro.learner_conflict", "the credential carries more than one Norwegian national id", "learner"
        )
    carried = next(iter(found), None)
    if envelope_nin is not None:
        envelope = envelope_nin.replace(" ", "")
        if carried is not None and carried != envelope:
            raise _Rejected(
                "micro.learner_conflict",
                "the national id in the envelope differs from the one in the credential",
                "learner",
            )
        for identity_hash, salt in facts.nin_hashes:
            if not _hash_matches(identity_hash, salt, envelope):
                raise _Rejected(
                    "micro.learner_conflict",
                    "the envelope's national id does not match the hashed national id in the credential",
                    "learner",
                )
        return envelope
    return carried


def _hash_matches(identity_hash: str, salt: str, nin: str) -> bool:
    """OB 3.0 IdentityObject: identityHash = "sha256$" + hex(sha256(value + salt)) (or md5$…)."""
    algorithm, _, expected = identity_hash.partition("$")
    if algorithm not in ("sha256", "md5") or not expected:
        return False
    digest = hashlib.new(algorithm, (nin + salt).encode(), usedforsecurity=False).hexdigest()
    return digest == expected.lower()


def _missing_message(key: str, facts: CredentialFacts) -> str:
    element = ELEMENTS_BY_KEY[key]
    if key == "learner":
        if facts.nin_hashes:
            return (
                "the learner's national id is only there hashed; send it in the envelope"
                ' {"learner": {"nin": …}, "credential": …} so the register can match it'
            )
        foreign = ", ".join(sorted({i.scheme for i in facts.other_identifiers}))
        found = f" (it carries a national id of {foreign}, not of Norway)" if foreign else ""
        return (
            f"no Norwegian national id identifies the learner{found}; send it in the envelope"
            ' {"learner": {"nin": …}, "credential": …}'
        )
    return f"missing the mandatory element '{element.title}'"


def _most_specific(codes: list[str]) -> str | None:
    """ISCED-F codes are 2 (broad), 3 (narrow) or 4 (detailed) digits; the longest says the most."""
    return max(codes, key=len) if codes else None
