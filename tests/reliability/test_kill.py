"""SIGKILL in the middle of a large import — of ``register import`` and of ``register serve`` — leaves the
batch fully there or not at all, and sending it again completes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.factories import create_organisation
from tests.reliability.deliveries import vitnemal_csv, vocational_csv
from tests.reliability.server import (
    PROJECT_ROOT,
    READ,
    WRITE,
    count_achievements,
    register_env,
    start_server,
    wait_for,
)

pytestmark = pytest.mark.slow

ROWS = 10_000  # about 1 MB of CSV: long enough to be killed in the middle, small enough to re-send


def _processing_batch_mid_transaction(db: Engine, orgnr: str) -> uuid.UUID | None:
    """The provider's batch that is being processed by a transaction that has already written (it has a
    transaction id: the staging tables exist and rows are going in), or None."""
    with db.connect() as conn:
        return conn.execute(
            text(
                """SELECT b.id FROM import_batch b JOIN organisation o ON o.id = b.provider_id
                   WHERE o.orgnr = :o AND b.status = 'processing'
                     AND EXISTS (SELECT 1 FROM pg_stat_activity a
                                 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                                   AND a.backend_xid IS NOT NULL)"""
            ),
            {"o": orgnr},
        ).scalar()


def _others_gone(db: Engine) -> bool:
    """The killed client's backend has rolled back and left."""
    with db.connect() as conn:
        return not conn.execute(
            text(
                """SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"""
            )
        ).scalar()


def _stored(db: Engine, batch_id: uuid.UUID) -> tuple[int, int, str]:
    with db.connect() as conn:
        achievements = conn.execute(
            text("SELECT count(*) FROM achievement WHERE batch_id = :b"), {"b": batch_id}
        ).scalar_one()
        persons = conn.execute(text("SELECT count(*) FROM person")).scalar_one()
        status = conn.execute(
            text("SELECT status FROM import_batch WHERE id = :b"), {"b": batch_id}
        ).scalar_one()
    return achievements, persons, status


def _cli_import(path: Path, orgnr: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "import", str(path), "--sector", "vocational",
         "--provider", orgnr, "--json"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _kill_cli_import_mid_batch(
    db: Engine, database_url: str, tmp_path: Path, rows: int
) -> tuple[str, Path, uuid.UUID]:
    fagskole = create_organisation(db, kind="fagskole")
    delivery = tmp_path / "resultater.csv"
    delivery.write_bytes(vocational_csv(fagskole, rows=rows))
    env = register_env(database_url, tmp_path / "data", REGISTER_IMPORT_CHUNK_ROWS="1000")
    process = _cli_import(delivery, fagskole, env)
    try:
        batch_id = wait_for(
            lambda: _processing_batch_mid_transaction(db, fagskole) or process.poll() is not None,
            timeout=120,
            what="the import to be in the middle of its batch",
        )
        assert isinstance(batch_id, uuid.UUID), "the import finished before it could be killed"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL  # killed, not finished
    return fagskole, delivery, batch_id


def test_sigkill_of_register_import_leaves_nothing_and_a_resend_completes(
    db: Engine, database_url: str, tmp_path: Path
) -> None:
    fagskole, delivery, batch_id = _kill_cli_import_mid_batch(db, database_url, tmp_path, ROWS)
    # Not a row of the batch is visible, not even while PostgreSQL is still rolling it back.
    assert _stored(db, batch_id)[:2] == (0, 0)
    wait_for(lambda: _others_gone(db), timeout=60, what="the killed import's transaction to end")
    assert _stored(db, batch_id)[:2] == (0, 0)

    env = register_env(database_url, tmp_path / "data")
    again = _cli_import(delivery, fagskole, env)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    report = json.loads(out)
    assert (report["status"], report["accepted"], report["rejected"]) == ("completed", ROWS, 0)
    assert report["duplicate_of"] is None  # the killed batch never completed, so this is no duplicate
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar() == ROWS
        assert conn.execute(text("SELECT count(*) FROM person")).scalar() == ROWS // 10


def test_a_killed_import_is_marked_interrupted_after_a_restart(
    db: Engine, database_url: str, tmp_path: Path
) -> None:
    fagskole, _, batch_id = _kill_cli_import_mid_batch(db, database_url, tmp_path, 3_000)
    wait_for(lambda: _others_gone(db), timeout=60, what="the killed import's transaction to end")
    # The register starts again: another import by the same CLI.
    other = tmp_path / "annet.csv"
    other.write_bytes(vitnemal_csv(fagskole, "24890654459", courses=1))
    done = _cli_import(other, fagskole, register_env(database_url, tmp_path / "data"))
    done.communicate(timeout=120)
    _, _, status = _stored(db, batch_id)
    assert status == "failed"
    with db.connect() as conn:
        failure = conn.execute(
            text("SELECT failure FROM import_batch WHERE id = :b"), {"b": batch_id}
        ).scalar()
    assert failure and failure.startswith("import.interrupted")


def test_sigkill_of_register_serve_mid_upload_leaves_nothing_and_a_resend_completes(
    db: Engine, database_url: str, tmp_path: Path
) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    portal = create_organisation(db, kind="other")
    content = vocational_csv(fagskole, rows=ROWS, seed=2)
    first_student = content.split(b"\n")[1].split(b";")[0].decode()
    server = start_server(database_url, tmp_path / "data", {"REGISTER_IMPORT_CHUNK_ROWS": "1000"})
    upload_headers = server.headers(fagskole, WRITE, **{"Content-Type": "text/csv"})
    outcome: dict[str, Any] = {}

    def upload() -> None:
        try:
            with server.client(timeout=300) as http:
                outcome["response"] = http.post(
                    "/v1/batches", params={"sector": "vocational"}, content=content, headers=upload_headers
                )
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        batch_id = wait_for(
            lambda: _processing_batch_mid_transaction(db, fagskole) or not uploader.is_alive(),
            timeout=120,
            what="the upload to be in the middle of its import",
        )
        assert isinstance(batch_id, uuid.UUID), f"the upload finished before the kill: {outcome}"
    finally:
        server.kill()
        uploader.join(timeout=60)
    assert "error" in outcome, outcome  # the client saw the connection die, not an answer
    assert _stored(db, batch_id)[:2] == (0, 0)
    wait_for(lambda: _others_gone(db), timeout=60, what="the killed server's transaction to end")

    restarted = start_server(database_url, tmp_path / "data")
    try:
        with restarted.client(timeout=300) as http:
            again = http.post(
                "/v1/batches",
                params={"sector": "vocational"},
                content=content,
                headers=restarted.headers(fagskole, WRITE, **{"Content-Type": "text/csv"}),
            )
            assert again.status_code == 201, again.text
            assert (again.json()["status"], again.json()["accepted"]) == ("completed", ROWS)
            looked_up = http.post(
                "/v1/persons/lookup", json={"nin": first_student}, headers=restarted.headers(portal, READ)
            )
            assert looked_up.status_code == 200, looked_up.text
            assert count_achievements(looked_up.json()) == 10  # every one of this student's rows
            # The restarted server found the killed batch abandoned and says so.
            killed = http.get(f"/v1/batches/{batch_id}", headers=restarted.headers(fagskole, WRITE))
            assert killed.status_code == 200, killed.text
            assert killed.json()["status"] == "failed"
            assert killed.json()["failure"].startswith("import.interrupted")
    finally:
        restarted.stop()
    assert _stored(db, batch_id)[0] == 0
