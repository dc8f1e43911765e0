"""Sector, level and credit scheme against the awarding organisation's kind (issue 13, item 8)."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

import pytest
from sqlalchemy import Engine

import intake.batches
from importers.base import ImportContext, Item
from intake.batches import run_import
from register.grading import AchievementKind, CreditScheme, GradeScheme, SpecificationKind
from register.records import GradeIn
from register.sectors import Sector
from register.settings import Settings
from tests.factories import create_organisation, new_nin
from tests.foundation.recordlines import record


class SectorLines:
    """One record per JSON line, with the sector, level and credits the line names."""

    name: ClassVar[str] = "test-sector-lines"
    sectors: ClassVar[frozenset[Sector]] = frozenset(Sector)
    field_names: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def identify(self, head: bytes, filename: str | None, content_type: str | None) -> bool:
        return True

    def extract(self, source: BinaryIO, context: ImportContext) -> Iterator[Item]:
        for line in source:
            spec = json.loads(line)
            base = record(nin=spec["nin"], key=spec["key"], org=spec["org"], grade=None)
            scheme = CreditScheme(spec["scheme"]) if spec.get("scheme") else None
            credits = Decimal(spec["credits"]) if spec.get("credits") else None
            yield dataclasses.replace(
                base,
                sector=Sector(spec["sector"]),
                kind=AchievementKind.DEGREE,
                grade=GradeIn(GradeScheme.PASS_FAIL, "bestått"),
                credits=credits,
                credit_scheme=scheme,
                specification=dataclasses.replace(
                    base.specification,
                    kind=SpecificationKind.PROGRAMME,
                    nkr_level=spec.get("nkr"),
                    eqf_level=spec.get("eqf"),
                    credits=credits,
                    credit_scheme=scheme,
                ),
            )


@pytest.fixture(autouse=True)
def sector_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake.batches, "choose", lambda *args: SectorLines())


CASES = [
    # kind, sector, nkr, eqf, credits, scheme → the rejection code, or None when accepted
    ("course_provider", "higher", "7", None, "120", "ects", "sector.organisation_kind"),
    ("course_provider", "vocational", "7", None, "120", "fagskolepoeng", "sector.organisation_kind"),
    ("fagskole", "vocational", "7", None, "120", "fagskolepoeng", "sector.level"),
    ("fagskole", "vocational", "5.1", None, "60", "ects", "sector.credit_scheme"),
    ("fagskole", "vocational", "5.2", None, "60", "fagskolepoeng", None),
    ("fagskole", "higher", "6", None, "60", "ects", "sector.organisation_kind"),
    ("university", "primary", "4", None, None, None, "sector.organisation_kind"),
    ("university", "higher", "7", None, "120", "ects", None),
    ("university", "higher", "5.1", None, "60", "ects", "sector.level"),
    ("university", "higher", "7", None, "120", "fagskolepoeng", "sector.credit_scheme"),
    ("foreign", "higher", None, 4, "30", "ects", "sector.level"),
    ("foreign", "higher", None, 5, "30", "ects", None),
    ("school", "primary", "4", None, None, None, None),
    ("county", "primary", "4", None, None, None, None),
    ("school", "primary", "7", None, None, None, "sector.level"),
    ("school", "primary", "4", None, "10", "ects", "sector.credit_scheme"),
    ("course_provider", "micro", None, 6, "40", "hours", None),
    ("course_provider", "micro", None, 6, "10", "fagskolepoeng", "sector.credit_scheme"),
    ("other", "higher", "6", None, "60", "ects", "sector.organisation_kind"),
]


@pytest.mark.parametrize(("kind", "sector", "nkr", "eqf", "credits", "scheme", "expected"), CASES)
def test_the_sector_matrix(
    db: Engine, settings: Settings, kind: str, sector: str, nkr: str | None, eqf: int | None,
    credits: str | None, scheme: str | None, expected: str | None,
) -> None:  # fmt: skip
    org = create_organisation(db, name=f"A {kind}", kind=kind, country="SE" if kind == "foreign" else "NO")
    line: dict[str, Any] = {"nin": new_nin(), "key": "r-1", "org": org, "sector": sector, "nkr": nkr, "eqf": eqf,
                            "credits": credits, "scheme": scheme}  # fmt: skip
    # A record beside it with no level and no credits: accepted wherever the organisation's kind is.
    good = {**line, "key": "r-good", "nkr": None, "eqf": None, "credits": None, "scheme": None}
    if expected == "sector.organisation_kind":
        good = {}
    data = b"".join(json.dumps(x).encode() + b"\n" for x in (line, good) if x)
    report = run_import(db, io.BytesIO(data), sector=sector, provider_orgnr=org, settings=settings)
    assert [e.code for e in report.errors] == ([] if expected is None else [expected])
    # a rejected record never costs the good record beside it
    assert report.accepted == (1 if good else 0) + (1 if expected is None else 0)
    if expected is not None:
        assert kind in report.errors[0].message or "level" in report.errors[0].message
