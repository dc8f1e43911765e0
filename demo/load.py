"""Demo data: synthetic organisations and people, delivered through the real importers.

Each sector that has demo data has a module ``demo.<sector>`` with ``demo_set(rng, size) -> DemoSet``:
the organisations it needs and the delivery files its providers would send. ``load_demo`` registers
the organisations and imports every file through ``run_import`` — the demo exercises the real path.

Two sizes: ``SHOWCASE`` (one year, a few dozen people per provider: every format and every kind of
result, and small cells that the disclosure control must hide — what the tests load) and ``ANALYSTS``
(what ``make run`` loads: the same providers over ten years with enough people that the analysts'
dashboard shows trends rather than suppressed cells, still imported through the real path).
"""

from __future__ import annotations

import importlib
import io
import random
from concurrent.futures import ThreadPoolExecutor
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


@dataclass(frozen=True, slots=True)
class DemoSize:
    """How much demo: the completion years delivered, and people per provider and year as a multiple."""

    years: tuple[int, ...] = (2025,)
    scale: int = 1
    # The demo's "now": results after it are not delivered yet. Cohorts of years after it are people
    # still studying: what they have finished by then is delivered, so the last years are as full as
    # the others (without them, the last two years of upper secondary would hold one cohort, not three).
    until: int | None = None

    def people(self, base: int, year: int, growth: float = 0.0) -> int:
        """``base`` × scale people in ``year``, changing by ``growth`` of that per year before 2025."""
        return max(1, round(base * self.scale * (1 - growth * (2025 - year))))


#: one year, the showcase sizes: what the tests load
SHOWCASE = DemoSize()
# Fourteen cohorts at 3 × the showcase: about 4 800 persons and 69 000 achievements, 38–47 CPU seconds
# to load (docs/dashboard.md). The last ten years by sector then have no suppressed cell, and by field
# or level only the rare ones (micro-credential fields, EQF levels few deliver).
ANALYSTS = DemoSize(years=tuple(range(2014, 2028)), scale=3, until=2025)


@dataclass(slots=True)
class DemoSet:
    organisations: list[DemoOrganisation] = field(default_factory=list)
    deliveries: list[DemoDelivery] = field(default_factory=list)


def collect_demo_sets(seed: int = 2026, size: DemoSize = SHOWCASE) -> list[DemoSet]:
    """The demo sets of every sector that has a module here (``demo.<sector>``), in the order of ``Sector``."""
    sets = []
    for sector in Sector:
        try:
            module = importlib.import_module(f"demo.{sector}")
        except ModuleNotFoundError as exc:
            if exc.name != f"demo.{sector}":
                raise
            continue
        sets.append(module.demo_set(random.Random(f"{seed}-{sector}"), size))
    return sets


def register_organisations(engine: Engine, sets: list[DemoSet] | None = None) -> None:
    """Register the demo's organisations only (the documentation's examples are delivered by them)."""
    sets = sets if sets is not None else collect_demo_sets()
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


def load_demo(engine: Engine, seed: int = 2026, size: DemoSize = SHOWCASE) -> str:
    """Register the demo organisations and import every demo delivery.

    ``register demo`` calls this only for an empty register (or with ``--force``): a second run finds
    the organisations registered and changes no result, but stores each file again as a ``duplicate``
    batch.
    """
    sets = collect_demo_sets(seed, size)
    if not sets:
        return "no sector has demo data yet"
    register_organisations(engine, sets)
    # One statistics refresh for all the deliveries, after the last (a person in several is counted once).
    deferred = get_settings().model_copy(update={"stats_refresh": "background"})
    deliveries = [delivery for demo_set in sets for delivery in demo_set.deliveries]
    # Each provider's files in their order, two providers at a time: the ingest takes deliveries for
    # different organisations in parallel (docs/architecture.md), and while one waits on PostgreSQL the
    # other parses. The analysts' demo loads in about two thirds of the time it takes one at a time.
    queues: dict[str, list[int]] = {}
    for index, delivery in enumerate(deliveries):
        queues.setdefault(delivery.provider_orgnr, []).append(index)
    reports: dict[int, str] = {}

    def deliver(indices: list[int]) -> None:
        for index in indices:
            delivery = deliveries[index]
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
            reports[index] = (
                f"{delivery.sector:10} {delivery.filename}: {report.status}, {report.accepted} accepted, "
                f"{report.unchanged} unchanged, {report.rejected} rejected"
            )

    # The largest queues first, so that the last one to finish is a short one.
    ordered = sorted(queues.values(), key=lambda q: -sum(len(deliveries[i].content) for i in q))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(deliver, queue) for queue in ordered]:
            done.result()
    refresh_statistics(engine)
    return "\n".join(reports[index] for index in range(len(deliveries)))
