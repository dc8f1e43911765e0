"""Benchmark: a ~100 MB ELMO batch (many learners) through ``run_import``, in bounded memory.

Generates a batch of synthetic FS transcripts (a bachelor degree with its courses plus free master
courses per learner; ``elmo`` elements wrapped in one root), streams it to a temporary file, registers
a fresh university, imports the file through the same job, importer and bulk ingest as every delivery,
and prints one JSON object: bytes, learners, records, seconds, throughput and peak resident memory.
With ``--parse-only`` the file is read by the importer alone (no database), which separates the
reader's throughput from the ingest's.

    python -m benchmarks.elmo_import [--megabytes 100] [--seed 1] [--parse-only]

Uses the configured database (``REGISTER_DATABASE_URL``, or the embedded one) and migrates it first.
Each run registers a new university, so runs never meet each other's records or duplicates.
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

from demo.higher import ELMO_NS, Institution, elmo_fragments, random_transcript
from importers.base import ImportContext
from importers.higher.elmo import ElmoImporter
from intake.batches import run_import
from register.organisations import add_organisation
from register.records import AchievementRecord
from register.sectors import Sector
from register.settings import Settings, get_settings
from register.synthetic import synthetic_orgnr, synthetic_person


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS; the benchmark targets Linux servers).
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def fresh_institution(rng: random.Random) -> Institution:
    number = rng.randint(10_000, 99_999)
    return Institution(
        synthetic_orgnr(rng), f"Benchmarkuniversitetet {number}", f"Benchmark University {number}", str(number),
        f"N  BENCH{number}", f"bench{number}.example.no", f"9{number:08d}",
    )  # fmt: skip


def write_elmo_batch(
    out: IO[str], target_bytes: int, institution: Institution, rng: random.Random
) -> dict[str, int]:
    """Write learners until the file reaches ``target_bytes``; returns learners and records written."""
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<elmoBatch xmlns="{ELMO_NS}">\n')
    written = learners = records = 0
    seen: set[str] = set()
    while written < target_bytes:
        person = synthetic_person(rng, rng.randint(1975, 2003))
        if person.nin in seen:  # one learner, one elmo element
            continue
        seen.add(person.nin)
        transcript = random_transcript(rng, institution, person)
        for fragment in elmo_fragments(transcript):
            out.write(fragment)
            written += len(fragment.encode())
        learners += 1
        records += sum(1 + len(r.parts) for r in transcript.results)
    out.write("</elmoBatch>\n")
    return {"learners": learners, "records": records}


def parse_only(path: Path) -> dict[str, Any]:
    context = ImportContext(
        sector=Sector.HIGHER, provider_orgnr="000000000", settings=Settings(max_upload_bytes=1 << 40)
    )
    started = time.perf_counter()
    records = 0
    with path.open("rb") as source:
        for item in ElmoImporter().extract(source, context):
            records += isinstance(item, AchievementRecord)
    seconds = time.perf_counter() - started
    return {"parse_seconds": round(seconds, 2), "parsed_records": records,
            "parse_mb_per_second": round(path.stat().st_size / 1e6 / seconds, 1) if seconds else None}  # fmt: skip


def run(
    engine: Engine | None, megabytes: float, *, seed: int = 1, settings: Settings | None = None,
    only_parse: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Generate, import (or only parse) and measure; returns the figures (printed as JSON)."""
    settings = settings or get_settings()
    rng = random.Random(seed)
    institution = fresh_institution(random.Random())  # fresh each run: never a duplicate delivery
    with tempfile.TemporaryDirectory(prefix="register-bench-") as tmp:
        path = Path(tmp) / "elmo-batch.xml"
        started = time.perf_counter()
        with path.open("w", encoding="utf-8", buffering=1024 * 1024) as out:
            counts = write_elmo_batch(out, int(megabytes * 1024 * 1024), institution, rng)
        generated = time.perf_counter() - started
        size = path.stat().st_size
        result: dict[str, Any] = {"benchmark": "elmo_import", "file_bytes": size, **counts,
                                  "generate_seconds": round(generated, 2)}  # fmt: skip
        rss_before = peak_rss_mb()
        if only_parse or engine is None:
            result.update(parse_only(path))
            result.update({"peak_rss_mb_before": rss_before, "peak_rss_mb": peak_rss_mb()})
            return result
        with engine.begin() as conn:
            add_organisation(
                conn, orgnr=institution.orgnr, name=institution.name_nb, kind="university",
                codes=[("fs", institution.fs), ("schac", institution.schac)],
            )  # fmt: skip
        started = time.perf_counter()
        with path.open("rb") as source:
            report = run_import(engine, source, sector="higher", provider_orgnr=institution.orgnr,
                                filename=path.name, settings=settings)  # fmt: skip
        seconds = time.perf_counter() - started
    result.update(
        {
            "status": report.status,
            "format": report.format,
            "accepted": report.accepted,
            "unchanged": report.unchanged,
            "rejected": report.rejected,
            "warnings": len(report.warnings),
            "import_seconds": round(seconds, 2),
            "mb_per_second": round(size / 1e6 / seconds, 2) if seconds else None,
            "learners_per_second": round(counts["learners"] / seconds) if seconds else None,
            "records_per_second": round(counts["records"] / seconds) if seconds else None,
            "peak_rss_mb_before_import": rss_before,
            "peak_rss_mb": peak_rss_mb(),
            "chunk_rows": settings.import_chunk_rows,
        }
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--megabytes", type=float, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--parse-only", action="store_true", help="read with the importer only, no database")
    args = parser.parse_args(argv)

    settings = get_settings()
    if args.parse_only:
        result = run(None, args.megabytes, seed=args.seed, settings=settings, only_parse=True)
        print(json.dumps(result, indent=2))
        return 0 if result["parsed_records"] == result["records"] else 1
    from register.database import get_engine
    from register.schema import upgrade

    if settings.environment == "production":
        print("the benchmark writes synthetic people: not in production", file=sys.stderr)
        return 2
    # Synthetic national ids are what the benchmark is made of; allow them for this run only.
    settings = settings.model_copy(update={"allow_synthetic_ids": True})
    upgrade()
    result = run(get_engine(), args.megabytes, seed=args.seed, settings=settings)
    print(json.dumps(result, indent=2))
    return 0 if result["status"] == "completed" and result["rejected"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
