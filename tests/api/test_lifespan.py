"""Resources the server owns live with its lifespan: made at start, released at stop."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import PROJECT_ROOT


def test_the_import_pool_is_made_at_start_and_shut_down_at_stop(app: FastAPI) -> None:
    # Before, the first large upload made the pool and nothing ever shut it down.
    assert getattr(app.state, "import_executor", None) is None
    with TestClient(app):
        pool = app.state.import_executor
        assert pool.submit(lambda: "ran").result(timeout=10) == "ran"
    with pytest.raises(RuntimeError):
        pool.submit(lambda: "ran")


def test_the_started_app_is_kept_out_of_the_collectors_passes_once_a_process(database_url: str) -> None:
    """After the lifespan's start the app's long-lived objects are frozen (``gc.freeze``): a full pass of
    the collector no longer walks them (docs/performance.md). In a fresh process, as a server worker is:
    the app's router is in no generation the collector visits. A second app in the same process is
    left to the collector, so a test process does not keep every test's app for good."""
    probe = """
import gc
from fastapi.testclient import TestClient
from api.app import create_app

def collected(obj):
    return any(o is obj for o in gc.get_objects())

first = create_app()
assert gc.get_freeze_count() == 0 and collected(first.router)
with TestClient(first):
    assert not collected(first.router), "the started app is still walked by the collector"
    assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()
second = create_app()
with TestClient(second):
    assert collected(second.router)
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
