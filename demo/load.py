"""Demo data: synthetic organisations and people, delivered through the real importers.

Each sector that has demo data has a module ``demo.<sector>`` with ``demo_set(rng) -> DemoSet``:
the organisations it needs and the delivery files its providers would send. ``load_demo`` registers
the organisations and imports every file through ``run_import`` — the demo exercises the real path.
"""

from __future__ import annotations

import importlib
import io
import random
from dataclasses import dataclass, field

from sqlalchemy import Engine

from intake.batches import refresh_statistics, run_import
from register.organisations import add_organisation
from register.sectors import Sector
from register.settings import get_settings


@dataclass(frozen=True, slots=True)
class DemoOrganisation:
    orgnr: str | None
    name: str
    kind: str
    codes: dict[str, str] = field(default_factory=dict)  # scheme → value (nsr, fs, erasmus, schac, …)
    delivers_for: tuple[str, ...] = ()  # orgnrs this organisation delivers for
    name_en: str | None = None
    country: str = "NO"
    county: str | None = None  # SSB's county code (register.classifications.COUNTIES)


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
    """The demo sets of every sector that has a module here (``demo.<sector>``), in the order of ``Sector``."""
    sets = []
    for sector in Sector:
        try:
            module = importlib.import_module(f"demo.{sector}")
        except ModuleNotFoundError as exc:
            if exc.name != f"demo.{sector}":
                raise
            continue
        sets.append(module.demo_set(random.Random(f"{seed}-{sector}")))
    return sets


def load_demo(engine: Engine, seed: int = 2026) -> str:
    """Register the demo organisations and import every demo delivery.

    ``register demo`` calls this only for an empty register (or with ``--force``): a second run finds
    the organisations registered and changes no result, but stores each file again as a ``duplicate``
    batch.
    """
    sets = collect_demo_sets(seed)
    if not sets:
        return "no sector has demo data yet"
    with engine.begin() as conn:
        for demo_set in sets:
            # Organisations first, then "delivers for" (which needs the other side registered).
            for org in demo_set.organisations:
                add_organisation(
                    conn, orgnr=org.orgnr, name=org.name, kind=org.kind, codes=list(org.codes.items()),
                    name_en=org.name_en, country=org.country, county=org.county,
                )  # fmt: skip
        for demo_set in sets:
            for org in demo_set.organisations:
                if org.delivers_for and org.orgnr:
                    add_organisation(
                        conn,
                        orgnr=org.orgnr,
                        name=org.name,
                        kind=org.kind,
                        delivers_for=list(org.delivers_for),
                    )
    lines = []
    # One statistics refresh for all the deliveries, after the last (a person in several is counted once).
    deferred = get_settings().model_copy(update={"stats_refresh": "background"})
    for demo_set in sets:
        for delivery in demo_set.deliveries:
            report = run_import(
                engine,
                io.BytesIO(delivery.content),
                sector=delivery.sector,
                provider_orgnr=delivery.provider_orgnr,
                filename=delivery.filename,
                content_type=delivery.content_type,
                submitted_by="demo",
                settings=deferred,
            )
            lines.append(
                f"{delivery.sector:10} {delivery.filename}: {report.status}, {report.accepted} accepted, "
                f"{report.unchanged} unchanged, {report.rejected} rejected"
            )
    refresh_statistics(engine)
    return "\n".join(lines)
