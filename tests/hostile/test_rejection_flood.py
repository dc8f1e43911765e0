"""A rejection flood: a small file of many broken rows (2 bytes each) must not turn into unbounded memory
in the server or unbounded rows in the database. Its own server, because peak memory is a lifetime
figure: this case must not make every other case's memory check meaningless."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tests.factories import create_organisation
from tests.reliability.deliveries import HEADER
from tests.reliability.server import WRITE, Served, start_server

pytestmark = pytest.mark.slow

ROWS = 500_000  # 1 MB of "x\n": each line a ragged row, each rejected with its reason
#: how much the server's peak memory may grow while it reads the flood
MEMORY_GROWTH_BOUND = 100 * 1024 * 1024
#: the most rejections one batch may store (its report shows the first 1 000)
STORED_REJECTIONS_BOUND = 100_000


@pytest.fixture
def flood_server(db: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(database_url, tmp_path_factory.mktemp("flood"))
    yield server
    server.stop()


def test_a_rejection_flood_is_bounded_in_memory_and_storage(flood_server: Served, db: Engine) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    content = HEADER.encode() + b"\n" + b"x\n" * ROWS
    before_rss = flood_server.peak_rss_bytes()
    with flood_server.client(timeout=300) as http:
        response = http.post(
            "/v1/batches",
            params={"sector": "vocational"},
            content=content,
            headers=flood_server.headers(fagskole, WRITE, **{"Content-Type": "text/csv"}),
        )
    assert response.status_code in (201, 422), response.text[:500]
    body = response.json()
    assert body.get("accepted", 0) == 0
    assert flood_server.alive()
    growth = flood_server.peak_rss_bytes() - before_rss
    with db.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM import_rejection")).scalar_one()
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar() == 0
    assert stored <= STORED_REJECTIONS_BOUND, f"{stored} rejections stored for one 1 MB file"
    assert growth < MEMORY_GROWTH_BOUND, f"peak memory grew {growth / 2**20:.0f} MiB"
