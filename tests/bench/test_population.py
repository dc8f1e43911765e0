"""The synthetic Norway: deterministic by seed, distinct valid national ids, files every importer reads."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from benchmarks.population import KINDS, NinSequence, Population, write_elmo_of_size
from importers.base import ImportContext
from intake.registry import choose
from register.identifiers import parse_nin
from register.records import AchievementRecord, RecordError
from register.sectors import Sector

pytestmark = pytest.mark.bench


def _digests(files: list) -> list[tuple[str, str]]:
    return [(f.path.name, hashlib.sha256(f.path.read_bytes()).hexdigest()) for f in files]


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    first, counts = Population(120, seed=7).write_deliveries(tmp_path / "a")
    again, _ = Population(120, seed=7).write_deliveries(tmp_path / "b")
    other, _ = Population(120, seed=8).write_deliveries(tmp_path / "c")
    assert _digests(first) == _digests(again)
    assert _digests(first) != _digests(other)
    assert counts.persons == 120
    assert counts.achievements == sum(f.achievements for f in first)


def test_every_kind_of_delivery_is_written_in_import_order(tmp_path: Path) -> None:
    files, counts = Population(400, seed=3).write_deliveries(tmp_path)
    kinds = [f.kind for f in files]
    assert set(kinds) == set(KINDS)
    assert kinds == sorted(kinds, key=KINDS.index)  # schools first: they create most persons
    assert all(counts.by_kind[kind] > 0 for kind in KINDS)
    # A school career of ~20 subjects for most people: far more school results than persons.
    assert counts.by_kind["primary-csv"] > 15 * counts.persons


def test_files_are_split_at_the_record_limit(tmp_path: Path) -> None:
    files, _ = Population(400, seed=3).write_deliveries(tmp_path, file_records=500)
    per_provider: dict[tuple[str, str], int] = {}
    for f in files:
        per_provider[(f.kind, f.provider_orgnr)] = per_provider.get((f.kind, f.provider_orgnr), 0) + 1
        # One person's rows are never split: a file ends at the first person past the limit.
        assert f.achievements < 500 + 60
    assert max(per_provider.values()) > 1


def test_a_slice_of_the_population_is_the_same_persons_as_in_the_whole(tmp_path: Path) -> None:
    population = Population(200, seed=5)
    whole, _ = population.write_deliveries(tmp_path / "whole")
    tail, counts = population.write_deliveries(tmp_path / "tail", first=150)
    assert counts.persons == 50
    whole_rows = {
        line for f in whole if f.kind == "primary-csv" for line in f.path.read_text().splitlines()[1:]
    }
    tail_rows = {
        line for f in tail if f.kind == "primary-csv" for line in f.path.read_text().splitlines()[1:]
    }
    assert tail_rows and tail_rows <= whole_rows


def test_national_ids_are_distinct_valid_and_synthetic() -> None:
    sequence = NinSequence()
    rng = random.Random(1)
    nins = [sequence.take(rng.choice((1950, 1987, 2003))) for _ in range(30_000)]
    assert len(set(nins)) == len(nins)
    for nin in nins[::97]:
        assert parse_nin(nin, allow_synthetic=True).kind.value == "synthetic"
        assert 81 <= int(nin[2:4]) <= 92


def test_a_birth_year_runs_out_of_ids_with_a_clear_error() -> None:
    sequence = NinSequence()
    sequence._next[1960] = 28 * 12 * 500 - 1  # the last candidate of the year
    with pytest.raises(ValueError, match="no synthetic national ids left for birth year 1960"):
        for _ in range(2):
            sequence.take(1960)


@pytest.mark.parametrize("kind", KINDS)
def test_every_generated_record_passes_its_importer(tmp_path: Path, kind: str) -> None:
    files, _ = Population(250, seed=11).write_deliveries(tmp_path)
    for f in (f for f in files if f.kind == kind):
        content = f.path.read_bytes()
        importer = choose(Sector(f.sector), content[:4096], f.path.name, f.content_type)
        context = ImportContext(
            sector=Sector(f.sector), provider_orgnr=f.provider_orgnr, filename=f.path.name
        )
        with f.path.open("rb") as source:
            items = list(importer.extract(source, context))
        errors = [i for i in items if isinstance(i, RecordError)]
        records = [i for i in items if isinstance(i, AchievementRecord)]
        assert errors == []
        assert len(records) == f.achievements


def test_elmo_file_of_a_given_size(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    records = write_elmo_of_size(Population(50), path, 200_000, first=10_000)
    assert 200_000 <= path.stat().st_size < 260_000
    assert records > 100
    assert path.read_text().rstrip().endswith("</elmoBatch>")
