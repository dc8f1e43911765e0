"""The Python an import spends per record, by step, without a database: ``python -m benchmarks.per_record``.

Reads the largest primary CSV and ELMO file of a small benchmark population (``benchmarks.population``)
and times, in µs a record: the importer (reading and mapping, the file cut into raw records as an
import cuts it: ``FirstDelivery``; and apart, not in the total, read whole), the ingest's text checks
and content hash, ``stage_record`` and the COPY rows' text (psycopg's own formatting, as
``copy_chunk`` does it).
The organisations are indexed in memory as the ingest would find them in the database. Prints one
JSON line per file; the figures in docs/performance.md ("Import ÷ COPY") come from here.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection

from benchmarks.population import DeliveryFile, Population
from importers.base import ImportContext
from intake.registry import choose
from register.ingest.checks import OrganisationIndex, PersonMemo, RecordRejected, normalize_code, stage_record
from register.ingest.known_input import Known, KnownInputs
from register.ingest.staging import Staged
from register.records import AchievementRecord
from register.sectors import Sector
from register.text import find_overlong_text


def organisation_index(population: Population) -> OrganisationIndex:
    by_code: dict[tuple[str, str], int] = {}
    kinds: dict[int, str] = {}
    for org_id, org in enumerate(population.organisations(), 1):
        kinds[org_id] = org.kind
        if org.orgnr is not None:
            by_code[("orgnr", org.orgnr)] = org_id
        for scheme, value in org.codes.items():
            by_code[(scheme, normalize_code(scheme, value))] = org_id
    return OrganisationIndex(by_code=by_code, may_deliver_for=frozenset(kinds), kinds=kinds)


def _timed(step: Callable[[], Any], repeats: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    # Processor time, the best of a few: the machine is shared, and this is the Python alone.
    for _ in range(repeats):
        started = time.process_time()
        result = step()
        best = min(best, time.process_time() - started)
    return best, result


class FirstDelivery(KnownInputs):
    """The register's known input as a first delivery meets it: no raw record known. Given it, an
    importer cuts its file into raw records as every import does (an ELMO batch document by document,
    which its reader is fed one at a time), so the reading timed is an import's; without it, the file
    is read whole, as only ``extract`` alone does (and a signed ELMO document up to 16 MiB)."""

    def __init__(self) -> None:
        super().__init__(cast(Connection, None), 0)

    def lookup(self, digests: Sequence[bytes]) -> dict[bytes, Known]:
        return {}


def measure(delivery: DeliveryFile, orgs: OrganisationIndex) -> dict[str, Any]:
    content = delivery.path.read_bytes()
    sector = Sector(delivery.sector)
    importer = choose(sector, content[:65536], delivery.path.name, delivery.content_type)

    def read(known: KnownInputs | None) -> list[AchievementRecord]:
        context = ImportContext(sector=sector, provider_orgnr=delivery.provider_orgnr, known=known)
        items = importer.extract(io.BytesIO(content), context)
        return [item for item in items if isinstance(item, AchievementRecord)]

    read_s, records = _timed(lambda: read(FirstDelivery()))
    whole_s, whole = _timed(lambda: read(None))
    if whole != records:
        raise AssertionError(f"{delivery.kind}: the file read whole makes other records than cut")
    text_s, _ = _timed(lambda: [find_overlong_text(r) for r in records])
    hash_s, hashes = _timed(lambda: [r.content_hash() for r in records])

    def stage() -> list[Staged]:
        staged, seen, persons = [], set[str](), PersonMemo(allow_synthetic=True)
        for seq, (record, content_hash) in enumerate(zip(records, hashes, strict=True), 1):
            with contextlib.suppress(RecordRejected):
                staged.append(stage_record(seq, record, content_hash, orgs, seen, persons))
        return staged

    stage_s, staged = _timed(stage)
    copy_s, _ = _timed(lambda: _copy_text(staged))
    n = len(records)
    return {
        "file": delivery.kind,
        "records": n,
        "staged": len(staged),
        "us_per_record": {
            "read": round(read_s / n * 1e6, 1),
            "read_whole_file": round(whole_s / n * 1e6, 1),  # not in the total: no import reads so
            "text_limits": round(text_s / n * 1e6, 1),
            "content_hash": round(hash_s / n * 1e6, 1),
            "stage_record": round(stage_s / n * 1e6, 1),
            "copy_rows": round(copy_s / n * 1e6, 1),
            "total": round((read_s + text_s + hash_s + stage_s + copy_s) / n * 1e6, 1),
        },
    }


def _copy_text(staged: list[Staged]) -> int:
    # psycopg's text formatting of a COPY row, as cur.copy().write_row does it, without a server.
    from psycopg._copy_base import TextFormatter
    from psycopg.adapt import Transformer

    formatter = TextFormatter(Transformer())
    return sum(len(formatter.write_row(s.row)) for s in staged)


def main(argv: list[str]) -> int:
    persons = int(argv[0]) if argv else 2000
    population = Population(persons, seed=7)
    orgs = organisation_index(population)
    with tempfile.TemporaryDirectory() as work:
        files, _ = population.write_deliveries(Path(work), file_records=40_000)
        for kind in ("primary-csv", "elmo"):
            delivery = max((f for f in files if f.kind == kind), key=lambda f: f.achievements)
            print(json.dumps(measure(delivery, orgs)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
