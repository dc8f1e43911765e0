"""Demo data: synthetic organisations and people, delivered through the real importers.

Each sector package that has demo data offers ``importers.<sector>.demo.demo_set(rng) -> DemoSet``:
the organisations it needs and the delivery files its providers would send. ``load_demo`` registers
the organisations and imports every file through ``run_import`` — the demo exercises the real path.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DemoOrganisation:
    orgnr: str | None
    name: str
    kind: str
    codes: dict[str, str] = field(default_factory=dict)  # scheme → value (nsr, fs, erasmus, schac, …)
    delivers_for: tuple[str, ...] = ()  # orgnrs this organisation delivers for
    name_en: str | None = None
    country: str = "NO"


@dataclass(frozen=True, slots=True)
class DemoDelivery:
    sector: str
    provider_orgnr: str
    filename: str
    content: bytes
    content_type: str | None = None


@dataclass(slots=True)
class DemoSet:
    organisations: list[DemoOrganisation] = field(default_factory=list)
    deliveries: list[DemoDelivery] = field(default_factory=list)


def collect_demo_sets(seed: int = 2026) -> list[DemoSet]:
    """The demo sets of every sector package that has a ``demo`` module, in a fixed order."""
    sets = []
    for package in ("primary", "vocational", "higher", "micro"):
        try:
            module = importlib.import_module(f"importers.{package}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"importers.{package}.demo":
                raise
            continue
        sets.append(module.demo_set(random.Random(f"{seed}-{package}")))
    return sets
