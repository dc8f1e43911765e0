"""``register serve`` restarted after a crash completes the batch its predecessor answered 202 for and
never took up (issue 14, item 8; the in-process cases are in tests/api/test_orphaned_batches.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from register.settings import Settings
from tests.api.conftest import WRITE
from tests.api.test_orphaned_batches import ROWS, _orphan
from tests.factories import create_organisation
from tests.reliability.server import start_server, wait_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("down_for", ["2 minutes", "3 hours"])
def test_register_serve_restarted_after_a_crash_completes_the_queued_batch(
    db: Engine, database_url: str, tmp_path: Path, down_for: str
) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    settings = Settings(database_url=database_url, data_dir=tmp_path / "data", environment="development")
    batch_id = _orphan(db, fagskole, settings, tag="E")
    # A server down for more than the hour after which a CLI import gives such a batch up: the
    # restarted server still completes it rather than fail it at start.
    with db.begin() as conn:
        conn.execute(
            text("UPDATE import_batch SET received_at = now() - CAST(:ago AS interval) WHERE id = :id"),
            {"ago": down_for, "id": batch_id},
        )
    server = start_server(database_url, tmp_path / "data")
    try:
        with server.client() as http:
            headers = server.headers(fagskole, WRITE)
            wait_for(
                lambda: (
                    http.get(f"/v1/batches/{batch_id}", headers=headers).json()["status"]
                    in ("completed", "failed")
                ),
                timeout=120,
                interval=0.2,
                what="the restarted server to settle the batch",
            )
            answer = http.get(f"/v1/batches/{batch_id}", headers=headers).json()
        assert (answer["status"], answer["accepted"]) == ("completed", ROWS), answer
    finally:
        server.stop()
