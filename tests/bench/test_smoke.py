"""The whole benchmark at a tiny scale, so that its code cannot rot: every figure is produced and sane.

No figure is compared with a goal here (a shared CI machine says nothing about them): the full run is
``make bench``, and docs/performance.md holds its results.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import psycopg
import pytest

from benchmarks import run as bench
from register.embedded import database_url
from tests.conftest import drop_database

pytestmark = pytest.mark.bench

REQUIRED = (
    "persons", "achievements", "import_csv_ratio", "import_elmo_ratio", "import_micro_ratio", "resend_speedup",
    "population_load_ratio", "lookup_ratio", "lookup_p99_ms", "stats_p99_ms", "import_peak_rss_mb",
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
        "BENCH_KEEP_DATABASE": "1",  # for the 'reads' run at the end
        "BENCH_LOOKUP_WORKERS": "2",  # the look-up once more, on a server of two workers
    }.items():
        monkeypatch.setenv(name, value)

    before = _databases(server_admin_url)
    assert bench.main([]) == 0
    [kept] = _databases(server_admin_url) - before

    results = json.loads(results_path.read_text())
    assert json.loads(capsys.readouterr().out) == results
    for key in REQUIRED:
        value = results[key]
        assert isinstance(value, int | float) and math.isfinite(value) and value > 0, (key, value)
    assert 0 < results["persons"] <= 60
    assert results["achievements"] > 15 * results["persons"]
    # Ratios against a ceiling measured in the same run: above 0, and not absurdly above 1.
    for key in (
        "import_csv_ratio",
        "import_elmo_ratio",
        "import_micro_ratio",
        "population_load_ratio",
        "lookup_ratio",
    ):
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
        assert 0 < figures["resend_sql_seconds"] < figures["resend"]["seconds"], kind
        assert figures["resend_slowest_statements"], kind
        assert figures["slowest_statements"][0]["seconds"] >= figures["slowest_statements"][-1]["seconds"]
    assert results["lookup"]["lookup"]["errors"] == 0
    assert results["lookup"]["ceiling"]["errors"] == 0
    warm = results["lookup"]["warm_pass"]  # every sampled person looked up once before the loads
    assert 0 < warm["lookups"] <= 40 and warm["seconds"] > 0 and warm["rps"] > 0
    assert list(results["lookup_by_workers"]) == ["1", "2"]
    for figures in results["lookup_by_workers"].values():
        assert figures["errors"] == 0 and 0 < figures["ratio"] < 5 and figures["lookup_rps"] > 0
    assert results["load_generator"] == "python-asyncio"
    assert results["memory"]["import"]["status"] == "completed"
    assert results["memory"]["import"]["rejected"] == 0
    assert results["stats"]["during_import"]["requests"] > 0
    assert results["machine"]["nproc"] >= 1
    capsys.readouterr()

    # The read benchmarks again on the kept database, as after a long run.
    kept_url = database_url(server_admin_url, kept)
    try:
        monkeypatch.setenv("BENCH_DATABASE_URL", kept_url)
        monkeypatch.setenv("BENCH_RESULTS", str(tmp_path / "reads.json"))
        assert bench.main(["reads"]) == 0
        reads = json.loads((tmp_path / "reads.json").read_text())
    finally:
        drop_database(server_admin_url, kept_url)
    # the population, and the persons of the memory benchmark's ELMO file imported after the counts
    assert reads["persons"] > results["persons"] and reads["achievements"] > results["achievements"]
    assert 0 < reads["lookup_ratio"] < 5 and reads["lookup"]["lookup"]["errors"] == 0
    assert list(reads["lookup_by_workers"]) == ["1", "2"]
    assert reads["stats"]["idle"]["requests"] == 5
    assert {name: figures["cells"] > 0 for name, figures in reads["stats_on_demand"].items()} == {
        "nus": True,
        "grade": True,
    }


def _databases(admin_url: str) -> set[str]:
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'register_bench%'").fetchall()
    return {name for (name,) in rows}


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
    assert "usage: python -m benchmarks.run [memory | reads]" in capsys.readouterr().err


def test_reads_needs_a_kept_database(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BENCH_DATABASE_URL", raising=False)
    assert bench.main(["reads"]) == 2
    assert "reads needs BENCH_DATABASE_URL" in capsys.readouterr().err
