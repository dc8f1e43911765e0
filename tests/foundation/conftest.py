"""Fixtures of the foundation tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import intake.batches
from register.database import get_engine
from tests.foundation.recordlines import RecordLines


@pytest.fixture
def record_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every delivery is read by the test-only RecordLines importer (one record per JSON line)."""
    monkeypatch.setattr(intake.batches, "choose", lambda *args: RecordLines())


@pytest.fixture
def cli(db: Engine) -> Iterator[CliRunner]:
    """A runner of the ``register`` command whose engine points at the test database (set in the env)."""
    get_engine.cache_clear()
    yield CliRunner()
    get_engine().dispose()
    get_engine.cache_clear()
