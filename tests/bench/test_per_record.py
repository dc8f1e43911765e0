"""benchmarks.per_record: the per-step figures of docs/performance.md ("Import ÷ COPY") stay producible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import per_record
from benchmarks.population import Population

STEPS = ("read", "text_limits", "content_hash", "stage_record", "copy_rows", "total")


def test_every_record_of_both_files_is_read_checked_and_staged(tmp_path: Path) -> None:
    population = Population(30, seed=5)
    orgs = per_record.organisation_index(population)
    files, _ = population.write_deliveries(tmp_path, file_records=100_000)
    for kind in ("primary-csv", "elmo"):
        delivery = max((f for f in files if f.kind == kind), key=lambda f: f.achievements)
        figures = per_record.measure(delivery, orgs)
        # every record the generator wrote is read, and the synthetic records pass every check
        assert figures["records"] == figures["staged"] == delivery.achievements, kind
        assert set(figures["us_per_record"]) == set(STEPS)
        assert all(value >= 0 for value in figures["us_per_record"].values())


def test_the_command_prints_one_line_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert per_record.main(["20"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == ["primary-csv", "elmo"]
