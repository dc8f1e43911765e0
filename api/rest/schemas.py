"""Response and request bodies of the REST API (pydantic), built from the register's typed views."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from register.history import AchievementHistory
from register.queries import (
    AchievementRow,
    AchievementView,
    GradeView,
    PersonRows,
    PersonView,
    assessment_view,
)


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


class OrganisationRefOut(BaseModel):
    orgnr: str | None
    name: str
    name_en: str | None = None
    kind: str
    country: str


class SpecificationOut(BaseModel):
    kind: str
    code: str | None
    code_scheme: str | None
    title: dict[str, str]
    description: dict[str, str] | None = None
    credits: float | None = None
    credit_scheme: str | None = None
    nkr_level: str | None = None
    eqf_level: int | None = None
    nus_code: str | None = None
    iscedf_code: str | None = None
    learning_outcomes: list[str] | None = None


class GradeOut(BaseModel):
    scheme: str = Field(description="the grade scale: no-1-6, a-f, pass-fail, conduct, trade or external")
    value: str = Field(
        description="the grade in the scale's canonical spelling (as delivered on external scales)"
    )
    as_delivered: str = Field(description="the grade exactly as the provider wrote it")
    passed: bool | None = Field(description="normalized: passed, not passed, or null where it does not apply")

    @classmethod
    def of(cls, grade: GradeView | None) -> GradeOut | None:
        if grade is None:
            return None
        return cls(
            scheme=grade.scheme, value=grade.value, as_delivered=grade.as_delivered, passed=grade.passed
        )


class AssessmentOut(BaseModel):
    code: str = Field(
        description="vurderingstype as delivered: standpunkt, skriftlig_eksamen, orden, fagprove …"
    )
    type: str = Field(description="standpunkt, exam, conduct or trade_test")
    form: str | None = Field(description="an exam's form: written, oral, practical or oral_practical")
    title: dict[str, str] = Field(description="the label, in bokmål (nb) and English (en)")


class AchievementOut(BaseModel):
    id: uuid.UUID
    sector: str
    kind: str
    specification: SpecificationOut
    awarding_organisation: OrganisationRefOut
    grade: GradeOut | None
    credits: float | None
    credit_scheme: str | None
    completed_on: dt.date | None
    year: int | None
    term: str | None
    version: int
    assessment: AssessmentOut | None = Field(
        default=None, description="school results: standpunkt or which exam (null for other results)"
    )
    programme: str | None = Field(
        default=None, description="utdanningsprogram of a vitnemål or kompetansebevis, as delivered"
    )
    parts: list[AchievementOut] = Field(
        default_factory=list, description="degree → courses, vitnemål → subjects"
    )

    @classmethod
    def of(cls, view: AchievementView) -> AchievementOut:
        spec = view.specification
        org = view.awarding_organisation
        return cls(
            id=view.id,
            sector=view.sector,
            kind=view.kind,
            specification=SpecificationOut(
                kind=spec.kind,
                code=spec.code,
                code_scheme=spec.code_scheme,
                title=spec.title,
                description=spec.description,
                credits=_num(spec.credits),
                credit_scheme=spec.credit_scheme,
                nkr_level=spec.nkr_level,
                eqf_level=spec.eqf_level,
                nus_code=spec.nus_code,
                iscedf_code=spec.iscedf_code,
                learning_outcomes=spec.learning_outcomes,
            ),
            awarding_organisation=OrganisationRefOut(
                orgnr=org.orgnr, name=org.name, name_en=org.name_en, kind=org.kind, country=org.country
            ),
            grade=GradeOut.of(view.grade),
            credits=_num(view.credits),
            credit_scheme=view.credit_scheme,
            completed_on=view.completed_on,
            year=view.year,
            term=view.term,
            version=view.version,
            assessment=AssessmentOut(
                code=view.assessment.code,
                type=view.assessment.type,
                form=view.assessment.form,
                title=view.assessment.title,
            )
            if view.assessment
            else None,
            programme=view.programme,
            parts=[cls.of(part) for part in view.parts],
        )


class PersonOut(BaseModel):
    id: uuid.UUID = Field(description="the register's internal person id (not the national id)")
    given_name: str | None
    family_name: str | None
    birth_date: dt.date | None
    achievements: list[AchievementOut]

    @classmethod
    def of(cls, view: PersonView) -> PersonOut:
        return cls(
            id=view.id,
            given_name=view.given_name,
            family_name=view.family_name,
            birth_date=view.birth_date,
            achievements=[AchievementOut.of(a) for a in view.achievements],
        )


def person_out_document(person: PersonRows) -> dict[str, Any]:
    """``PersonOut.of(view).model_dump(mode="json")`` built straight from the look-up's rows.

    The look-up's fast path: the same fields, values and nesting as ``PersonOut`` (tests compare the
    two for every sector), without building views, models and their validation for every achievement.
    The jsonb columns go into the answer as the JSON text PostgreSQL gives (``orjson.Fragment``): the
    ingest stored them as validated JSON, and parsing them only to print them again is the cost saved.
    Encode with ``orjson.dumps``.
    """
    nodes: dict[str, dict[str, Any]] = {}
    placed: list[tuple[str | None, dict[str, Any]]] = []
    for row in person.achievements:
        node = _achievement_out(row)
        nodes[row.id] = node
        placed.append((row.part_of_id, node))
    roots = []
    # As ``register.queries._nest``: under its parent when the parent is given out too, else a root.
    for part_of_id, node in placed:
        parent = nodes.get(part_of_id) if part_of_id else None
        if parent is None:
            roots.append(node)
        else:
            parent["parts"].append(node)
    return {
        "id": person.id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "birth_date": person.birth_date,
        "achievements": roots,
    }


def _json_text(value: str | None) -> orjson.Fragment | None:
    return orjson.Fragment(value) if value is not None else None


def _achievement_out(r: AchievementRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "sector": r.sector,
        "kind": r.kind,
        "specification": {
            "kind": r.spec_kind,
            "code": r.code,
            "code_scheme": r.code_scheme,
            "title": orjson.Fragment(r.title_json),
            "description": _json_text(r.description_json),
            "credits": r.spec_credits,
            "credit_scheme": r.spec_credit_scheme,
            "nkr_level": r.nkr_level,
            "eqf_level": r.eqf_level,
            "nus_code": r.nus_code,
            "iscedf_code": r.iscedf_code,
            "learning_outcomes": _json_text(r.learning_outcomes_json),
        },
        "awarding_organisation": {
            "orgnr": r.orgnr,
            "name": r.org_name,
            "name_en": r.org_name_en,
            "kind": r.org_kind,
            "country": r.org_country,
        },
        # As register.queries._achievement: no scheme, no grade; as delivered falls back to the value.
        "grade": {
            "scheme": r.grade_scheme,
            "value": r.grade_value,
            "as_delivered": r.grade_as_delivered or r.grade_value,
            "passed": r.grade_passed,
        }
        if r.grade_scheme
        else None,
        "credits": r.credits,
        "credit_scheme": r.credit_scheme,
        "completed_on": r.completed_on,
        "year": r.year,
        "term": r.term,
        "version": r.version,
        "assessment": _assessment_out(r.assessment_code),
        "programme": r.programme,
        "parts": [],
    }


@functools.lru_cache(maxsize=64)
def _assessment_out(code: str | None) -> dict[str, Any] | None:
    # Nine kinds in all (register.grading.ASSESSMENTS): each built once, the dict shared between
    # answers and never changed; the bound only guards against values the read model was never given.
    view = assessment_view(code)
    if view is None:
        return None
    return {"code": view.code, "type": view.type, "form": view.form, "title": view.title}


class NinBody(BaseModel):
    """A national identity number travels in a body, never in a URL."""

    model_config = ConfigDict(extra="forbid")
    nin: str = Field(min_length=1, max_length=32, description="fødselsnummer, D-nummer or H-nummer")


class RecordProblemOut(BaseModel):
    record: str | None
    path: str | None
    code: str
    message: str


class BatchReportOut(BaseModel):
    batch_id: uuid.UUID | None = Field(description="the stored batch; null for a dry run, which stores none")
    status: str = Field(description="completed, failed or duplicate")
    sector: str
    format: str | None
    accepted: int = Field(description="new + changed; for a duplicate, the earlier batch's figure")
    unchanged: int
    rejected: int
    new: int | None = Field(default=None, description="of the accepted, new records (null for a duplicate)")
    changed: int | None = Field(default=None, description="of the accepted, changed records")
    dry_run: bool = Field(default=False, description="true: validated and counted, nothing stored")
    duplicate_of: uuid.UUID | None
    failure: RecordProblemOut | None
    warnings: list[RecordProblemOut]
    errors: list[RecordProblemOut] = Field(description="the first rejections; all are at /rejections")
    details: dict[str, Any]


class BatchOut(BaseModel):
    id: uuid.UUID
    provider: str | None = Field(description="orgnr of the uploading organisation")
    sector: str
    format: str | None
    filename: str | None
    content_type: str | None
    sha256: str
    size_bytes: int
    status: str = Field(description="received, processing, completed, failed or duplicate")
    submitted_by: str | None
    duplicate_of: uuid.UUID | None
    accepted: int
    unchanged: int
    rejected: int
    warnings: list[dict[str, Any]]
    details: dict[str, Any]
    failure: str | None
    received_at: dt.datetime
    finished_at: dt.datetime | None
    records_done: int = Field(description="records read so far (while processing; all of them when done)")


class RejectionOut(BaseModel):
    seq: int
    record: str
    path: str | None
    code: str
    message: str


class BatchDetailOut(BatchOut):
    rejections: list[RejectionOut] = Field(description="the first rejections, in delivery order")
    rejections_next: str | None = Field(description="link to the next page of rejections, if any")


class BatchPage(BaseModel):
    items: list[BatchOut]
    next_cursor: str | None


class RejectionPage(BaseModel):
    items: list[RejectionOut]
    next_after: int | None


class RecordOutcomeOut(BaseModel):
    record: str | None = Field(description="the record's reference in the delivery (line, element)")
    source_key: str | None = Field(description="the provider's key of the record; null for a rejection")
    achievement_id: uuid.UUID | None = Field(description="the achievement it is (null for a rejection)")
    outcome: str = Field(description="new, changed, unchanged (the three stored) or rejected")
    code: str | None = Field(description="the rule a rejected record broke (docs/errors.md)")


class RecordOutcomePage(BaseModel):
    items: list[RecordOutcomeOut]
    next_cursor: str | None


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class WithdrawalOut(BaseModel):
    id: uuid.UUID
    status: str
    version: int
    withdrawal_reason: str


class VersionOut(BaseModel):
    version: int
    current: bool = Field(description="the version the register gives out now")
    status: str = Field(description="valid or withdrawn")
    withdrawal_reason: str | None
    grade: GradeOut | None
    credits: float | None
    credit_scheme: str | None
    completed_on: dt.date | None
    year: int | None
    term: str | None
    specification: VersionSpecificationOut
    delivered_by: OrganisationOut = Field(description="the organisation that delivered this version")
    batch_id: uuid.UUID | None = Field(
        description="the delivery that made this version (a withdrawal through the API keeps the last one)"
    )
    delivered_at: dt.datetime = Field(description="when the register stored this version")


class VersionSpecificationOut(BaseModel):
    id: int
    code: str | None
    title: dict[str, str]


class OrganisationOut(BaseModel):
    orgnr: str | None
    name: str


class VersionsOut(BaseModel):
    achievement_id: uuid.UUID
    versions: list[VersionOut] = Field(description="oldest first; the last is the current one")

    @classmethod
    def of(cls, history: AchievementHistory) -> VersionsOut:
        return cls(
            achievement_id=history.achievement_id,
            versions=[
                VersionOut(
                    version=v.version,
                    current=v.current,
                    status=v.status,
                    withdrawal_reason=v.withdrawal_reason,
                    grade=GradeOut.of(v.grade),
                    credits=_num(v.credits),
                    credit_scheme=v.credit_scheme,
                    completed_on=v.completed_on,
                    year=v.year,
                    term=v.term,
                    specification=VersionSpecificationOut(
                        id=v.specification_id, code=v.specification_code, title=v.specification_title
                    ),
                    delivered_by=OrganisationOut(orgnr=v.provider_orgnr, name=v.provider_name),
                    batch_id=v.batch_id,
                    delivered_at=v.delivered_at,
                )
                for v in history.versions
            ],
        )
