"""Fixtures of the foundation tests."""

from __future__ import annotations

import pytest

import intake.batches
from tests.foundation.recordlines import RecordLines


@pytest.fixture
def record_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every delivery is read by the test-only RecordLines importer (one record per JSON line)."""
    monkeypatch.setattr(intake.batches, "choose", lambda *args: RecordLines())
