"""Answering one OOTS evidence request: read, check, find the person, preview, give out — and audit.

The order is the order of what a request may learn: nothing about any person is looked up before the
request is well-formed and asks for something the register serves (specification, procedure, evidence
type, requirement, distribution); a person is looked up only at the level of assurance configured;
evidence leaves only for a preview the person approved. Every exchange writes one audit row: with the
person's id when the person was found (so the citizen's own view of who looked at their data lists
it), without one otherwise. The audit never holds the identifier the request carried.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from register.audit import record_event
from register.errors import NotFound
from register.oots.catalogue import ELMO_FORMAT, EvidenceType, evidence_type_by_classification, last_segment
from register.oots.codes import SPEC_V2, EdmError, EdmErrorCode, LevelOfAssurance
from register.oots.evidence import build_evidence
from register.oots.matching import Match, MatchOutcome, match_person
from register.oots.previews import create_preview, preview_by_token, token_of_location
from register.oots.request import EvidenceRequest, read_request, request_id_of
from register.oots.response import Answer, Envelope, error_answer, evidence_answer
from register.settings import Settings

ACTION = "oots.query"
_XML_FORMATS = frozenset({ELMO_FORMAT, "text/xml"})


@dataclass(frozen=True, slots=True)
class Caller:
    """The connector that brought the request (from its token) and the HTTP request's id."""

    client_id: str | None
    organisation: str | None
    scope: str | None
    request_id: str | None

    def audit(self, conn: Connection, person_id: uuid.UUID | None, details: dict[str, Any]) -> None:
        """The audit row of one answer to this caller (every answer has one, evidence or refusal)."""
        record_event(
            conn,
            action=ACTION,
            person_id=person_id,
            client_id=self.client_id,
            organisation=self.organisation,
            scope=self.scope,
            request_id=self.request_id,
            details=details,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    answer: Answer
    edm_code: str | None  # None: the evidence was given
    reason: str  # the register's own code (docs/errors.md) or "evidence_given"
    person_id: uuid.UUID | None


def answer(conn: Connection, data: bytes, settings: Settings, caller: Caller) -> Outcome:
    """The response to one request, audited in ``conn``'s transaction (committed by the caller)."""
    try:
        request = read_request(
            data, max_bytes=settings.oots_max_request_bytes, max_depth=settings.max_xml_depth
        )
    except EdmError as error:
        small = len(data) <= settings.oots_max_request_bytes
        envelope = Envelope(request_id_of(data) if small else None, SPEC_V2, None)
        return _refuse(conn, envelope, error, settings, caller, details={})
    envelope = Envelope.of(request)
    details: dict[str, Any] = {
        "edm_request_id": request.request_id[:200],
        "specification": request.specification,
        "procedure": (request.procedure or "")[:200],
        "requester": (request.requester.identifier[:200] if request.requester else None),
    }
    match: Match | None = None
    try:
        evidence_type = _check(request, settings)
        details["evidence_type"] = evidence_type.key
        match = match_person(
            conn,
            request.person,
            minimum=LevelOfAssurance[settings.oots_min_level_of_assurance.upper()],
            allow_synthetic=settings.synthetic_ids_allowed,
        )
        details["match"] = match.outcome.value
        if match.person_id is None:
            raise EdmError(EdmErrorCode.NOT_FOUND, "oots.person_not_found", _NOT_FOUND)
        return _serve(conn, request, evidence_type, match, settings, caller, details)
    except EdmError as error:
        person_id = match.person_id if match is not None else None
        return _refuse(conn, envelope, error, settings, caller, details=details, person_id=person_id)


# Said the same way for absent, ambiguous and too weakly identified persons: the answer must not tell a
# requester which it was (that two persons share these names and birth date is itself personal data).
_NOT_FOUND = "No single person in the register matches the person described at this level of assurance."


def _check(request: EvidenceRequest, settings: Settings) -> EvidenceType:
    if not request.procedure:
        raise EdmError(EdmErrorCode.INVALID_REQUEST, "oots.missing_field", "the Procedure slot is missing")
    if settings.oots_procedures and request.procedure not in settings.oots_procedures:
        raise EdmError(
            EdmErrorCode.UNSUPPORTED,
            "oots.unsupported_procedure",
            f"procedure {request.procedure!r} is not one this register gives evidence for",
        )
    if not request.explicit_request_given:
        raise EdmError(
            EdmErrorCode.INVALID_REQUEST,
            "oots.no_explicit_request",
            "evidence is given only at the person's explicit request (ExplicitRequestGiven true)",
        )
    evidence_type = evidence_type_by_classification(request.classification)
    if evidence_type is None:
        raise EdmError(
            EdmErrorCode.UNSUPPORTED,
            "oots.unsupported_evidence_type",
            "this register does not provide the evidence type requested",
        )
    asked = {last_segment(r) for r in request.requirements}
    if asked and not asked & evidence_type.requirements:
        raise EdmError(
            EdmErrorCode.UNSUPPORTED,
            "oots.unsupported_requirement",
            "the evidence type requested does not satisfy the requirements named",
        )
    if request.formats and not set(request.formats) & _XML_FORMATS:
        raise EdmError(
            EdmErrorCode.UNSUPPORTED,
            "oots.unsupported_distribution",
            f"the evidence is distributed as {ELMO_FORMAT} (ELMO, signed) only;"
            f" requested: {', '.join(sorted(set(request.formats)))[:200]}",
        )
    if not request.possibility_for_preview and request.preview_location is None:
        raise EdmError(
            EdmErrorCode.UNSUPPORTED,
            "oots.preview_needed",
            "this register gives evidence only after the person's preview (PossibilityForPreview true)",
        )
    return evidence_type


def _serve(
    conn: Connection,
    request: EvidenceRequest,
    evidence_type: EvidenceType,
    match: Match,
    settings: Settings,
    caller: Caller,
    details: dict[str, Any],
) -> Outcome:
    base = settings.oots_preview_base
    person_id = match.person_id
    assert person_id is not None
    national_id = match.outcome is MatchOutcome.BY_IDENTIFIER
    if request.preview_location is None:
        try:
            # Only what exists is previewed.
            build_evidence(conn, person_id, evidence_type, settings, national_id=national_id)
        except NotFound:
            raise EdmError(EdmErrorCode.NOT_FOUND, "oots.no_evidence", _NO_EVIDENCE) from None
        preview = create_preview(
            conn,
            request,
            person_id=person_id,
            evidence_type=evidence_type.key,
            national_id=national_id,
            lifetime=dt.timedelta(seconds=settings.oots_preview_seconds),
        )
        return _preview_required(conn, request, preview.location(base), person_id, settings, caller, details)
    token = token_of_location(request.preview_location, base)
    held = preview_by_token(conn, token, for_update=True) if token else None
    if held is None or held.person_id != person_id or held.evidence_type != evidence_type.key:
        # The same words for a location never issued and one issued for someone else or something else.
        raise EdmError(
            EdmErrorCode.INVALID_REQUEST,
            "oots.unknown_preview",
            "the PreviewLocation does not belong to a preview of this person and evidence type",
        )
    details["preview_state"] = held.state
    if held.state == "pending":
        return _preview_required(conn, request, held.location(base), person_id, settings, caller, details)
    if held.state == "expired":
        raise EdmError(
            EdmErrorCode.TIMEOUT, "oots.preview_expired", "the preview expired before it was approved"
        )
    if held.state == "refused":
        raise EdmError(
            EdmErrorCode.NOT_FOUND, "oots.preview_refused", "the person refused to share this evidence"
        )
    try:
        evidence = build_evidence(conn, person_id, evidence_type, settings, national_id=held.national_id)
    except NotFound:
        raise EdmError(EdmErrorCode.NOT_FOUND, "oots.no_evidence", _NO_EVIDENCE) from None
    result = evidence_answer(request, evidence_type, evidence.document, settings)
    caller.audit(
        conn, person_id, {**details, "outcome": "evidence_given", "achievements": evidence.achievement_ids}
    )
    return Outcome(result, None, "evidence_given", person_id)


_NO_EVIDENCE = "The register holds no evidence of this type about the person."


def _preview_required(
    conn: Connection,
    request: EvidenceRequest,
    location: str,
    person_id: uuid.UUID,
    settings: Settings,
    caller: Caller,
    details: dict[str, Any],
) -> Outcome:
    error = EdmError(
        EdmErrorCode.PREVIEW_REQUIRED,
        "oots.preview_required",
        "The person must preview and approve the evidence at the PreviewLocation before it is sent",
    )
    return _refuse(
        conn, Envelope.of(request), error, settings, caller, details=details, person_id=person_id,
        preview_location=location,
    )  # fmt: skip


def _refuse(
    conn: Connection,
    envelope: Envelope,
    error: EdmError,
    settings: Settings,
    caller: Caller,
    *,
    details: dict[str, Any],
    person_id: uuid.UUID | None = None,
    preview_location: str | None = None,
) -> Outcome:
    caller.audit(conn, person_id, {**details, "outcome": error.reason, "edm_code": error.edm.code})
    result = error_answer(envelope, error, settings, preview_location=preview_location)
    return Outcome(result, error.edm.code, error.reason, person_id)
