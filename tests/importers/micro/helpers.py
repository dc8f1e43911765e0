"""Shared builders for the micro-credential tests: full credentials, extraction, envelopes."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from collections.abc import Iterable
from typing import Any

from demo.micro import elm_credential, open_badge
from importers.base import ImportContext, Item
from importers.micro.importer import MicroConfig, MicroCredentialImporter
from register.records import AchievementRecord, BatchWarning, RecordError
from register.sectors import Sector
from register.synthetic import synthetic_orgnr, synthetic_person

RNG = random.Random(5)
LEARNER = synthetic_person(RNG, 1990)
ISSUER_ORGNR = synthetic_orgnr(RNG)
ISSUED = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)
# a fixed clock, so expiry never depends on when the tests run
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def config(**overrides: Any) -> MicroConfig:
    return MicroConfig(**({"now": lambda: NOW} | overrides))


def full_elm(**overrides: Any) -> dict[str, Any]:
    """An ELM credential with all eleven mandatory elements present."""
    arguments: dict[str, Any] = {
        "credential_id": "urn:credential:test-1",
        "learner": LEARNER,
        "issuer_orgnr": ISSUER_ORGNR,
        "issuer_name": "Testkurs AS",
        "title": "Grunnleggende maskinlæring",
        "outcomes": ("Forklare overvåket læring",),
        "ects": "5",
        "hours": 135,
        "eqf": 6,
        "iscedf": "0613",
        "assessment": "skriftlig eksamen",
        "participation": "nettbasert",
        "issued": ISSUED,
    }
    return elm_credential(**(arguments | overrides))


def full_badge(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "credential_id": "urn:uuid:11111111-1111-4111-8111-111111111111",
        "issuer_id": "https://testkurs.example/issuer",
        "issuer_name": "Testkurs AS",
        "title": "Digital samhandling",
        "outcomes": ("Lede et nettmøte",),
        "eqf": 4,
        "issued": ISSUED,
        "learner_nin": LEARNER.nin,
    }
    return open_badge(**(arguments | overrides))


def extract(content: bytes | dict[str, Any] | list[Any], cfg: MicroConfig | None = None) -> list[Item]:
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    importer = MicroCredentialImporter(cfg or config())
    context = ImportContext(sector=Sector.MICRO, provider_orgnr=ISSUER_ORGNR)
    return list(importer.extract(io.BytesIO(data), context))


def records(items: Iterable[Item]) -> list[AchievementRecord]:
    return [i for i in items if isinstance(i, AchievementRecord)]


def errors(items: Iterable[Item]) -> list[RecordError]:
    return [i for i in items if isinstance(i, RecordError)]


def warnings(items: Iterable[Item]) -> list[BatchWarning]:
    return [i for i in items if isinstance(i, BatchWarning)]


def codes(items: Iterable[Item]) -> list[str]:
    return [i.code for i in items if isinstance(i, RecordError | BatchWarning)]
