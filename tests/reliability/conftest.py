"""One ``register serve`` per test module that asks for it, on the session's test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.server import Served, start_server


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(database_url, tmp_path_factory.mktemp("served"))
    yield server
    server.stop()
