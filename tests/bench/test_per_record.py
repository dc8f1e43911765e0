"""benchmarks.per_record: the per-step figures of docs/performance.md ("Import ÷ COPY") stay producible."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from benchmarks import per_record
from benchmarks.population import Population
from register.ingest.known_input import Known

STEPS = ("read", "read_whole_file", "text_limits", "content_hash", "stage_record", "copy_rows", "total")


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


class CountingFirstDelivery(per_record.FirstDelivery):
    """``FirstDelivery`` counting the raw records' digests it is asked for."""

    asked = 0

    def lookup(self, digests: Sequence[bytes]) -> dict[bytes, Known]:
        CountingFirstDelivery.asked += len(digests)
        return super().lookup(digests)


def test_the_read_timed_is_an_imports_the_file_cut_into_raw_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The importers ask for their raw records' digests, as in an import (an ELMO batch is then fed to
    its reader document by document)."""
    population = Population(30, seed=5)
    orgs = per_record.organisation_index(population)
    files, _ = population.write_deliveries(tmp_path, file_records=100_000)
    monkeypatch.setattr(per_record, "FirstDelivery", CountingFirstDelivery)
    for kind in ("primary-csv", "elmo"):
        delivery = max((f for f in files if f.kind == kind), key=lambda f: f.achievements)
        CountingFirstDelivery.asked = 0
        per_record.measure(delivery, orgs)
        # read three times (best of three), every raw record asked for each time; a raw record is a row,
        # a vitnemål's rows (at most 64) or one learner's transcript (some 8 records here), so there is
        # at least one for every 60 records; read whole (the path this guards against), none is asked
        assert CountingFirstDelivery.asked >= 3 * delivery.achievements // 60, kind


def test_the_command_prints_one_line_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert per_record.main(["20"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == ["primary-csv", "elmo"]
