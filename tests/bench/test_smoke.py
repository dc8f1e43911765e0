"""The whole benchmark at a tiny scale, so that its code cannot rot: every figure is produced and sane.

No figure is compared with a goal here (a shared CI machine says nothing about them): the full run is
``make bench``, and docs/performance.md holds its results.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks import run as bench

pytestmark = pytest.mark.bench

REQUIRED = (
    "persons", "achievements", "import_csv_ratio", "import_elmo_ratio", "import_micro_ratio", "resend_speedup",
    "lookup_ratio", "lookup_p99_ms", "stats_p99_ms", "import_peak_rss_mb",
)  # fmt: skip


def test_tiny_benchmark_run_produces_every_figure(
    server_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results_path = tmp_path / "results.json"
    for name, value in {
        "BENCH_PERSONS": "60",
        "BENCH_SEED": "3",
        "BENCH_ADMIN_URL": server_admin_url,
        "BENCH_WORK_DIR": str(tmp_path / "work"),
        "BENCH_RESULTS": str(results_path),
        "BENCH_ELMO_BYTES": "150000",
        "BENCH_LOAD_SECONDS": "0.5",
        "BENCH_WARMUP_SECONDS": "0",
        "BENCH_CONCURRENCY": "4",
        "BENCH_LOOKUP_SAMPLE": "40",
        "BENCH_STATS_IDLE_REQUESTS": "5",
        # The asyncio generator: CI machines have no wrk, and this is the path that must not rot.
        "BENCH_LOAD_GENERATOR": "python",
    }.items():
        monkeypatch.setenv(name, value)

    assert bench.main([]) == 0

    results = json.loads(results_path.read_text())
    assert json.loads(capsys.readouterr().out) == results
    for key in REQUIRED:
        value = results[key]
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, (key, value)
    assert 0 < results["persons"] <= 60
    assert results["achievements"] > 15 * results["persons"]
    # Ratios against a ceiling measured in the same run: above 0, and not absurdly above 1.
    for key in ("import_csv_ratio", "import_elmo_ratio", "import_micro_ratio", "lookup_ratio"):
        assert results[key] < 5, (key, results[key])
    assert results["scale"]["population_rejected"] == {}  # the synthetic files are valid deliveries
    for kind, figures in results["import"].items():
        assert figures["import"]["status"] == "completed", kind
        assert figures["import"]["rejected"] == 0, kind
        assert figures["copy_rows"] == figures["import"]["accepted"], kind
        assert figures["resend"]["status"] == "completed", kind
        assert figures["resend"]["accepted"] == 0 and figures["resend"]["unchanged"] > 0, kind
        assert figures["duplicate"]["status"] == "duplicate", kind
        assert 0 < figures["sql_seconds"] < figures["import"]["seconds"], kind
        assert figures["slowest_statements"][0]["seconds"] >= figures["slowest_statements"][-1]["seconds"]
    assert results["lookup"]["lookup"]["errors"] == 0
    assert results["lookup"]["ceiling"]["errors"] == 0
    assert results["load_generator"] == "python-asyncio"
    assert results["memory"]["import"]["status"] == "completed"
    assert results["memory"]["import"]["rejected"] == 0
    assert results["stats"]["during_import"]["requests"] > 0
    assert results["machine"]["nproc"] >= 1


def test_memory_benchmark_alone(
    server_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results_path = tmp_path / "memory.json"
    monkeypatch.setenv("BENCH_PERSONS", "10")
    monkeypatch.setenv("BENCH_ADMIN_URL", server_admin_url)
    monkeypatch.setenv("BENCH_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("BENCH_RESULTS", str(results_path))
    monkeypatch.setenv("BENCH_ELMO_BYTES", "100000")

    assert bench.main(["memory"]) == 0

    results = json.loads(results_path.read_text())
    assert results["memory"]["import"]["status"] == "completed"
    assert results["memory"]["import"]["accepted"] == results["memory"]["records"] > 0
    assert results["memory"]["file_bytes"] >= 100_000
    assert results["import_peak_rss_mb"] == results["memory"]["peak_rss_mb"] > 0
    assert not (tmp_path / "work" / "big-elmo.xml").exists()


def test_unknown_mode_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["everything"]) == 2
    assert "usage: python -m benchmarks.run [memory]" in capsys.readouterr().err
