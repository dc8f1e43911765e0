"""A test-only importer: one normalized record per JSON line, so ingest tests say exactly what they send.

A line ``{"crash": true}`` raises in the middle of the batch, to prove that a batch which dies half-way
leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

from importers.base import ImportContext, Item
from register.grading import AchievementKind, CreditScheme, GradeScheme, SpecificationKind
from register.records import AchievementRecord, GradeIn, IdentifierIn, OrgRef, PersonIn, SpecificationIn
from register.sectors import Sector


class SimulatedCrash(RuntimeError):
    pass


class RecordLines:
    name: ClassVar[str] = "test-record-lines"
    sectors: ClassVar[frozenset[Sector]] = frozenset(Sector)
    field_names: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def identify(self, head: bytes, filename: str | None, content_type: str | None) -> bool:
        return True

    def extract(self, source: BinaryIO, context: ImportContext) -> Iterator[Item]:
        for line in source:
            spec = json.loads(line)
            if spec.get("crash"):
                raise SimulatedCrash("simulated crash in the middle of a batch")
            yield record(**spec)


def record(
    *,
    nin: str | None,
    key: str,
    org: str,
    grade: str | None = "4",
    scheme: str = "no-1-6",
    code: str = "NOR1211",
    title: str = "Norsk hovedmål",
    parent: str | None = None,
    kind: str = "subject_grade",
    status: str = "valid",
    reason: str | None = None,
    credits: str | None = None,
    ref: str | None = None,
    extra_ids: list[dict[str, Any]] | None = None,
    given_name: str = "Kari",
    birth_date: str | None = None,
) -> AchievementRecord:
    own = (IdentifierIn("nin", nin),) if nin is not None else ()  # None: only the extra_ids
    identifiers = (*own, *(IdentifierIn(**i) for i in extra_ids or []))
    return AchievementRecord(
        ref=ref or f"record {key}",
        source_key=key,
        sector=Sector.PRIMARY,
        kind=AchievementKind(kind),
        person=PersonIn(
            identifiers=identifiers,
            given_name=given_name,
            family_name="Nordmann",
            birth_date=dt.date.fromisoformat(birth_date) if birth_date else None,
        ),
        awarding_org=OrgRef("orgnr", org),
        specification=SpecificationIn(
            kind=SpecificationKind.SUBJECT if kind == "subject_grade" else SpecificationKind.DOCUMENT,
            title={"nb": title},
            code=code,
            code_scheme="udir",
        ),
        grade=GradeIn(GradeScheme(scheme), grade) if grade is not None else None,
        credits=Decimal(credits) if credits else None,
        credit_scheme=CreditScheme.ECTS if credits else None,
        year=2024,
        parent_key=parent,
        status=status,
        withdrawal_reason=reason,
    )


def lines(*records: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)
