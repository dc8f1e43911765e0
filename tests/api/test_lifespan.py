"""Resources the server owns live with its lifespan: made at start, released at stop."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient


def test_the_import_pool_is_made_at_start_and_shut_down_at_stop(app: FastAPI) -> None:
    # Before, the first large upload made the pool and nothing ever shut it down.
    assert getattr(app.state, "import_executor", None) is None
    with TestClient(app):
        pool = app.state.import_executor
        assert pool.submit(lambda: "ran").result(timeout=10) == "ran"
    with pytest.raises(RuntimeError):
        pool.submit(lambda: "ran")
