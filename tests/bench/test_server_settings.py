"""The benchmark's own embedded PostgreSQL runs with the settings of a register at national scale.

PostgreSQL's defaults (128 MB of shared buffers, a checkpoint every 1 GB of WAL) are made for any
machine; the national run measured with them is measuring a misconfigured server
(``benchmarks.run.national_scale_settings``, docs/operations.md "PostgreSQL at national scale").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import run as bench
from register import embedded

pytestmark = pytest.mark.bench

GIB = 1024**3


def test_settings_are_sized_by_the_memory_and_never_below_postgresqls_defaults() -> None:
    assert bench.national_scale_settings(24 * GIB) == {
        "shared_buffers": "6144MB",
        "effective_cache_size": "12288MB",
        "max_wal_size": "8GB",
        "checkpoint_timeout": "15min",
    }
    small = bench.national_scale_settings(GIB // 4)
    assert small["shared_buffers"] == "128MB" and small["effective_cache_size"] == "512MB"


def test_the_embedded_server_is_restarted_once_with_them(
    server_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "_memory_bytes", lambda: 2 * GIB)  # 512 MB of buffers: cheap anywhere
    config = bench.BenchConfig(work_dir=server_folder)
    try:
        admin = bench._admin_url(config)
        assert bench.server_settings(admin) == {
            "shared_buffers": "512MB",
            "effective_cache_size": "1GB",
            "max_wal_size": "8GB",
            "checkpoint_timeout": "15min",
        }
        # A second run on the same server finds them in effect: nothing to restart for.
        assert not bench.configure_server(admin, bench.national_scale_settings(2 * GIB))
        assert bench.configure_server(admin, bench.national_scale_settings(4 * GIB))
    finally:
        embedded.stop(server_folder / "server")
