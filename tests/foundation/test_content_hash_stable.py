"""The content hash is how a re-send is recognised, against hashes stored years ago (29 M rows at
national scale, never recomputed): its bytes must not change when its code does. The expected values
were computed by the implementation before the hash was made faster (a tuple built by a generator
of ``getattr``, serialized by orjson) on the format examples."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import orjson
import pytest

from benchmarks.population import Population
from importers.base import ImportContext
from intake.registry import choose
from register import records
from register.records import AchievementRecord
from register.sectors import Sector

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "formats" / "examples"

#: file → (records, sha256 of their content hashes joined by spaces), from the earlier implementation
EXPECTED = {
    "elmo.xml": ("higher", 9, "a900511e828f0cd27dc1c3ec40c35dba70fccc43457e94bf18f6389828af9940"),
    "primary.csv": ("primary", 14, "9c5f93b0296bc146ef0cccfd93770c5ed7410d5f103bd06a8627ceb39bd3bcd8"),
    "primary.json": ("primary", 4, "6dc15460c68177f5c45e85a043fe13c72c56b34a3b6fca08ca7421de5ff2fbf3"),
    "vocational.csv": ("vocational", 6, "e260ac1ca1ae2b74c584689f9a1aa86091999b616c9c0436454ffabf2fc4fabd"),
    "vocational.jsonl": ("vocational", 2, "80a71bdfa06e280a6efd5634570ec4fe14787ba4456eb21ce71e8f526d6ac122"),
    "micro-envelope.jsonl": ("micro", 2, "d9275dd155980fc127979dcff250b6362ab8b1690b751da412d90a7d49b8d36e"),
}


def _records(content: bytes, name: str, sector: Sector) -> list[AchievementRecord]:
    importer = choose(sector, content[:65536], name, None)
    items = importer.extract(io.BytesIO(content), ImportContext(sector=sector, provider_orgnr="0"))
    return [item for item in items if isinstance(item, AchievementRecord)]


def _earlier_hash(record: AchievementRecord) -> str:
    """The hash as it was defined before: every field but ``ref``, in order, through ``_hash``."""
    fields = tuple(getattr(record, name) for name in records._CONTENT_FIELDS)
    canonical = orjson.dumps(
        fields, default=records._default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_examples_hash_as_they_always_did(name: str) -> None:
    sector, count, expected = EXPECTED[name]
    found = _records((EXAMPLES / name).read_bytes(), name, Sector(sector))
    assert len(found) == count
    assert hashlib.sha256(" ".join(r.content_hash() for r in found).encode()).hexdigest() == expected


def test_every_generated_record_hashes_as_before(tmp_path: Path) -> None:
    """Thousands of records of every kind the benchmark population delivers (CSV, ELMO, JSON)."""
    files, _ = Population(40, seed=11).write_deliveries(tmp_path, file_records=100_000)
    checked = 0
    for delivery in files:
        for record in _records(delivery.path.read_bytes(), delivery.path.name, Sector(delivery.sector)):
            assert record.content_hash() == _earlier_hash(record), record.ref
            checked += 1
    assert checked > 500
