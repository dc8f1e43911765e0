"""Per-record checks, done in Python where they need no database: national id check digits, grade on
its scale, organisation known and delivered for, sector, levels and credits. Cheap, and the error
names the record; a record that passes becomes its staging row (``register.ingest.staging``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, text

from register import identity
from register.grading import (
    NKR_TO_EQF,
    CreditScheme,
    GradeScheme,
    UnknownGrade,
    is_valid_eqf,
    normalize_grade,
)
from register.ingest.staging import SpecRow, Staged, StageRow
from register.records import AchievementRecord, OrgRef, PersonIn, spec_content_key
from register.sectors import check_sector
from register.text import clean_text
from register.uuids import uuid7


@dataclass(frozen=True, slots=True)
class OrganisationIndex:
    """The cross-walk in memory for one batch: a few thousand organisations at most."""

    by_code: dict[tuple[str, str], int]
    may_deliver_for: frozenset[int]  # the provider itself and those it delivers for
    kinds: dict[int, str] = field(default_factory=dict)  # organisation id → kind (register.sectors)

    @classmethod
    def load(cls, conn: Connection, provider_id: int) -> OrganisationIndex:
        by_code: dict[tuple[str, str], int] = {}
        kinds: dict[int, str] = {}
        for org_id, orgnr, kind in conn.execute(text("SELECT id, orgnr, kind FROM organisation")):
            kinds[org_id] = kind
            if orgnr is not None:
                by_code[("orgnr", orgnr)] = org_id
        for org_id, scheme, value in conn.execute(
            text("SELECT organisation_id, scheme, value FROM organisation_code")
        ):
            by_code[(scheme, normalize_code(scheme, value))] = org_id
        allowed = {provider_id}
        allowed.update(
            row[0]
            for row in conn.execute(
                text("SELECT on_behalf_of_id FROM organisation_delivery WHERE deliverer_id = :p"),
                {"p": provider_id},
            )
        )
        return cls(by_code=by_code, may_deliver_for=frozenset(allowed), kinds=kinds)

    def resolve(self, ref: OrgRef) -> int | None:
        for candidate in (ref, *ref.alternatives):
            found = self.by_code.get((candidate.scheme, normalize_code(candidate.scheme, candidate.value)))
            if found is not None:
                return found
        return None


def normalize_code(scheme: str, value: str) -> str:
    """Codes as written differently by different systems: Erasmus codes are padded with one space or
    two ("N  OSLO01"), SCHAC domains are case-insensitive, organisation numbers come with spaces."""
    value = value.strip()
    if scheme == "erasmus":
        return " ".join(value.split()).upper()
    if scheme == "schac":
        return value.lower()
    if scheme == "orgnr":
        return value.replace(" ", "")
    return value


class RecordRejected(Exception):
    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        self.code, self.message, self.path = code, message, path


def stage_record(
    seq: int,
    record: AchievementRecord,
    content_hash: str,
    orgs: OrganisationIndex,
    seen_specs: set[str],
    persons: PersonMemo,
) -> Staged:
    identifiers, learner = persons.identifiers_of(record.person)  # the first is the anchor

    awarding = orgs.resolve(record.awarding_org)
    if awarding is None:
        raise RecordRejected(
            "organisation.unknown",
            f"awarding organisation {_named(record.awarding_org)} is not registered",
            "awarding_org",
        )
    if awarding not in orgs.may_deliver_for:
        raise RecordRejected(
            "organisation.not_authorised",
            f"the provider is not registered to deliver for {_named(record.awarding_org)}",
            "awarding_org",
        )

    spec = record.specification
    owner_id = None
    if spec.owner is not None:
        owner_id = orgs.resolve(spec.owner)
        if owner_id is None:
            raise RecordRejected(
                "organisation.unknown",
                f"owner {_named(spec.owner)} of the specification is not registered",
                "specification.owner",
            )
    if not spec.title or not any(t.strip() for t in spec.title.values()):
        raise RecordRejected(
            "specification.title_missing", "the specification has no title", "specification.title"
        )
    eqf = spec.eqf_level
    if spec.nkr_level is not None:
        if spec.nkr_level not in NKR_TO_EQF:
            raise RecordRejected(
                "level.invalid",
                f"NKR level {spec.nkr_level!r} is not one of {', '.join(NKR_TO_EQF)}",
                "specification.nkr_level",
            )
        eqf = eqf or NKR_TO_EQF[spec.nkr_level]
    if eqf is not None and not is_valid_eqf(eqf):
        raise RecordRejected(
            "level.invalid", f"EQF level {eqf} is not between 1 and 8", "specification.eqf_level"
        )
    _check_credits(spec.credits, spec.credit_scheme, "specification.credits")
    _check_credits(record.credits, record.credit_scheme, "credits")
    problem = check_sector(
        record.sector, orgs.kinds.get(awarding, "other"), nkr_level=spec.nkr_level, eqf_level=eqf,
        credit_schemes=(record.credit_scheme, spec.credit_scheme),
    )  # fmt: skip
    if problem is not None:
        raise RecordRejected(problem.code, problem.message, problem.path)

    grade_scheme = grade_value = None
    passed: bool | None = None
    details = dict(record.details or {})
    if record.grade is not None:
        grade_scheme, grade_value, passed = _grade(record)
        if record.grade.value.strip() != grade_value:
            details["grade_as_delivered"] = record.grade.value.strip()
        if record.grade.scheme_description:
            details["grading_scheme"] = record.grade.scheme_description
    credits, credit_scheme = record.credits, record.credit_scheme
    if passed is False and credits:
        # A failed result never awards credits: none are stored (so no sum counts them), and the value
        # delivered is kept in details exactly.
        details.setdefault("credits_as_delivered", str(credits))
        credits, credit_scheme = None, None

    if record.status not in ("valid", "withdrawn"):
        raise RecordRejected(
            "status.invalid", f"status {record.status!r} is not valid or withdrawn", "status"
        )
    if record.status == "withdrawn" and not (record.withdrawal_reason or "").strip():
        raise RecordRejected("withdrawal.reason_missing", "a withdrawal needs a reason", "withdrawal_reason")

    if eqf != spec.eqf_level:
        spec = dataclasses.replace(spec, eqf_level=eqf)
    spec_key = spec_content_key(spec, owner_id)
    spec_row = None
    if spec_key not in seen_specs:
        seen_specs.add(spec_key)
        spec_row = SpecRow(
            content_key=spec_key, kind=spec.kind.value, code=spec.code, code_scheme=spec.code_scheme,
            owner_id=owner_id, title=_json(spec.title), description=_json(spec.description),
            credits=spec.credits, credit_scheme=_enum(spec.credit_scheme), nkr_level=spec.nkr_level,
            eqf_level=eqf, nus_code=spec.nus_code, iscedf_code=spec.iscedf_code,
            learning_outcomes=_json(list(spec.learning_outcomes)) if spec.learning_outcomes else None,
            details=_json(spec.details),
        )  # fmt: skip

    year = (
        record.year
        if record.year is not None
        else (record.completed_on.year if record.completed_on else None)
    )
    pid_kind, pid_scheme, pid_value = identifiers[0]
    row = StageRow(
        seq=seq, new_id=uuid7(), ref=clean_text(record.ref), source_key=record.source_key,
        parent_key=record.parent_key, learner=learner, pid_kind=pid_kind, pid_scheme=pid_scheme,
        pid_value=pid_value, given_name=record.person.given_name, family_name=record.person.family_name,
        birth_date=record.person.birth_date, awarding_org_id=awarding, spec_key=spec_key,
        sector=record.sector.value, kind=record.kind.value, grade_scheme=grade_scheme,
        grade_value=grade_value, grade_passed=passed, credits=credits, credit_scheme=_enum(credit_scheme),
        completed_on=record.completed_on, year=year, term=record.term, status=record.status,
        withdrawal_reason=record.withdrawal_reason, details=_json(details or None),
        content_hash=content_hash,
    )  # fmt: skip
    attachments = [(a.media_type, a.title, a.content, _sha256(a.content)) for a in record.attachments]
    return Staged(row=row, identifiers=identifiers, spec=spec_row, attachments=attachments)


class PersonMemo:
    """The last person's checked identifiers, for one ingest.

    Importers hand the same PersonIn object to all records of one person (a vitnemål's twenty
    subjects), so its identifiers are checked once. Compared by identity: nothing to hash.
    """

    def __init__(self, allow_synthetic: bool) -> None:
        self.allow_synthetic = allow_synthetic
        self.person: PersonIn | None = None
        self.identifiers: list[identity.Identifier] = []
        self.learner = ""

    def identifiers_of(self, person: PersonIn) -> tuple[list[identity.Identifier], str]:
        """The identifiers, the anchor first, and the learner key (register.identity)."""
        if person is not self.person:
            try:
                self.identifiers = identity.learner_identifiers(person.identifiers, self.allow_synthetic)
            except identity.Rejected as exc:
                raise RecordRejected(exc.code, exc.message, exc.path) from None
            self.learner = identity.learner_key(self.identifiers)
            self.person = person
        return self.identifiers, self.learner


def _named(ref: OrgRef) -> str:
    return " / ".join(str(r) for r in (ref, *ref.alternatives))


def _grade(record: AchievementRecord) -> tuple[str, str, bool | None]:
    assert record.grade is not None
    grade = record.grade
    if not grade.value.strip():
        raise RecordRejected("grade.missing", "the grade is empty", "grade")
    if grade.scheme is GradeScheme.EXTERNAL:
        return grade.scheme.value, grade.value.strip(), grade.passed
    try:
        normalized = normalize_grade(grade.scheme, grade.value)
    except UnknownGrade as exc:
        raise RecordRejected("grade.invalid", str(exc), "grade") from None
    # The column holds the scale's canonical spelling, so "Bestått" and "bestått" are one grade in
    # statistics; the spelling as delivered is kept in details when it differs (see stage_record).
    # A pass/fail the format delivered itself (ELMO status) wins over the scale's.
    passed = normalized.passed if grade.passed is None else grade.passed
    return grade.scheme.value, normalized.value, passed


def _check_credits(credits: Decimal | None, scheme: CreditScheme | None, path: str) -> None:
    if credits is None:
        return
    if scheme is None:
        raise RecordRejected(
            "credits.scheme_missing", "credits need a credit scheme (ects, fagskolepoeng, hours)", path
        )
    if credits < 0 or credits > 1000:
        raise RecordRejected("credits.out_of_range", f"credits {credits} are outside 0–1000", path)


def _json(value: Any) -> str | None:
    # orjson: this runs for every staged record's details; dates and enums natively, Decimal as text.
    return (
        None if value is None else orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    )


def _enum(value: Any) -> str | None:
    return None if value is None else str(value.value)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
