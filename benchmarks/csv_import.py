"""Benchmark: a primary-sector CSV of a million rows through ``run_import``, in bounded memory.

Generates a synthetic county delivery (vitnemål of 20 subjects plus orden and atferd per pupil),
streams it to a temporary file, registers a fresh county and school, imports the file through the
same job, importer and bulk ingest as every delivery, and prints one JSON object: rows, records,
seconds, rows per second and the process's peak resident memory.

    python -m benchmarks.csv_import [--rows 1000000] [--seed 1]

Uses the configured database (``REGISTER_DATABASE_URL``, or the embedded one) and migrates it first.
Each run registers new organisations, so runs never meet each other's records or duplicates.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine

from intake.batches import run_import
from register.organisations import add_organisation
from register.settings import Settings, get_settings
from register.synthetic import synthetic_nin, synthetic_orgnr

SUBJECTS = (
    ("NOR1267", "Norsk hovedmål, skriftlig"), ("NOR1268", "Norsk sidemål, skriftlig"), ("NOR1269", "Norsk, muntlig"),
    ("ENG1007", "Engelsk"), ("MAT1021", "Matematikk 1T"), ("MAT1023", "Matematikk 2P"), ("NAT1007", "Naturfag"),
    ("SAK1001", "Samfunnskunnskap"), ("GEO1003", "Geografi"), ("HIS1010", "Historie Vg2"),
    ("HIS1011", "Historie Vg3"), ("REL1003", "Religion og etikk"), ("KRO1017", "Kroppsøving Vg1"),
    ("KRO1018", "Kroppsøving Vg2"), ("KRO1019", "Kroppsøving Vg3"), ("SPR3029", "Spansk II"),
    ("FYS1002", "Fysikk 1"), ("KJE1002", "Kjemi 1"), ("BIO1002", "Biologi 1"), ("MAT1028", "Matematikk R1"),
)  # fmt: skip
HEADER = "fodselsnummer;skole_orgnr;dokumenttype;dokument_id;utstedt_dato;skolear;fagkode;fagnavn;vurderingstype;karakter\n"
ROWS_PER_PUPIL = len(SUBJECTS) + 2  # the subjects, orden and atferd


def write_primary_csv(out: IO[str], rows: int, school: str, rng: random.Random) -> int:
    """Write ``rows`` data rows; returns the number of records they make (rows plus one per document)."""
    out.write(HEADER)
    written = documents = 0
    grades = "1234562345345445456"
    while written < rows:
        documents += 1
        nin = synthetic_nin(rng, 2006)
        prefix = f"{nin};{school};vitnemal;B-{documents:08d};2025-06-20;2024-2025;"
        lines = [f"{prefix}{code};{title};standpunkt;{rng.choice(grades)}\n" for code, title in SUBJECTS]
        lines.append(f"{prefix};;orden;G\n")
        lines.append(f"{prefix};;atferd;G\n")
        take = lines[: rows - written]
        out.writelines(take)
        written += len(take)
    return written + documents


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS; the benchmark targets Linux servers).
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(engine: Engine, rows: int, *, seed: int = 1, settings: Settings | None = None) -> dict[str, Any]:
    """Generate, import and measure; returns the figures (the command prints them as JSON)."""
    settings = settings or get_settings()
    rng = random.Random(seed)
    org_rng = random.Random()  # fresh organisations each run: a re-run is never a duplicate delivery
    county, school = synthetic_orgnr(org_rng), synthetic_orgnr(org_rng)
    with engine.begin() as conn:
        add_organisation(conn, orgnr=school, name="Benchmark videregående skole", kind="school")
        add_organisation(
            conn, orgnr=county, name="Benchmark fylkeskommune", kind="county", delivers_for=[school]
        )
    with tempfile.TemporaryDirectory(prefix="register-bench-") as tmp:
        path = Path(tmp) / "benchmark.csv"
        started = time.perf_counter()
        with path.open("w", encoding="utf-8", buffering=1024 * 1024) as out:
            records = write_primary_csv(out, rows, school, rng)
        generated = time.perf_counter() - started
        size = path.stat().st_size
        rss_before = peak_rss_mb()
        started = time.perf_counter()
        with path.open("rb") as source:
            report = run_import(
                engine, source, sector="primary", provider_orgnr=county, filename=path.name, settings=settings
            )
        seconds = time.perf_counter() - started
    return {
        "benchmark": "csv_import",
        "rows": rows,
        "records": records,
        "file_bytes": size,
        "status": report.status,
        "format": report.format,
        "accepted": report.accepted,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "generate_seconds": round(generated, 2),
        "import_seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds) if seconds else None,
        "records_per_second": round(records / seconds) if seconds else None,
        "peak_rss_mb_before_import": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "chunk_rows": settings.import_chunk_rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from register.database import get_engine
    from register.schema import upgrade

    settings = get_settings()
    if settings.environment == "production":
        print("the benchmark writes synthetic people: not in production", file=sys.stderr)
        return 2
    # Synthetic national ids are what the benchmark is made of; allow them for this run only.
    settings = settings.model_copy(update={"allow_synthetic_ids": True})
    upgrade()
    result = run(get_engine(), args.rows, seed=args.seed, settings=settings)
    print(json.dumps(result, indent=2))
    return 0 if result["status"] == "completed" and result["rejected"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
