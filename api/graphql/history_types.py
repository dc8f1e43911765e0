"""The GraphQL type of one version of an achievement (``Achievement.versions``; register/history.py)."""

from __future__ import annotations

import datetime as dt
import uuid

import strawberry

from api.graphql.reference_types import Credits, Grade, LocalizedText
from register.history import VersionView


@strawberry.type(description="One version of a result: what it said, who delivered it and when")
class AchievementVersion:
    version: int
    current: bool = strawberry.field(description="the version the register gives out now")
    status: str = strawberry.field(description="valid or withdrawn")
    withdrawal_reason: str | None
    grade: Grade | None
    credits: Credits | None
    completed_on: dt.date | None
    year: int | None
    term: str | None
    specification_code: str | None
    specification_title: LocalizedText | None
    delivered_by_orgnr: str | None = strawberry.field(description="the organisation that delivered it")
    delivered_by_name: str
    batch_id: uuid.UUID | None = strawberry.field(
        description="the delivery that made it (a withdrawal through the API keeps the last one)"
    )
    delivered_at: dt.datetime = strawberry.field(description="when the register stored this version")

    @classmethod
    def of(cls, v: VersionView) -> AchievementVersion:
        grade = v.grade
        return cls(
            version=v.version,
            current=v.current,
            status=v.status,
            withdrawal_reason=v.withdrawal_reason,
            grade=Grade(
                as_delivered=grade.as_delivered, value=grade.value, scheme=grade.scheme, passed=grade.passed
            )
            if grade
            else None,
            credits=Credits(value=float(v.credits), scheme=v.credit_scheme)
            if v.credits is not None and v.credit_scheme
            else None,
            completed_on=v.completed_on,
            year=v.year,
            term=v.term,
            specification_code=v.specification_code,
            specification_title=LocalizedText.of(v.specification_title),
            delivered_by_orgnr=v.provider_orgnr,
            delivered_by_name=v.provider_name,
            batch_id=v.batch_id,
            delivered_at=v.delivered_at,
        )
