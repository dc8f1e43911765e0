"""A queued batch orphaned by a crash (issue 14, item 8; the real server in tests/reliability): the server answered 202 and stored the file,
then stopped before its worker took the batch up. The batch was left 'received' — for an hour, and then
only failed at the next start or CLI import — while its client polled for ``completed`` or ``failed``.
Now the restarted server resumes it from its stored bytes, and so does a poll of it; of two processes
that try, one processes it and the other finds it taken."""

from __future__ import annotations

import io
import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from intake import batches
from register.settings import Settings
from tests.api.conftest import WRITE, Token, bearer
from tests.factories import create_organisation
from tests.reliability.deliveries import vocational_csv
from tests.reliability.server import wait_for

ROWS = 40


def _orphan(db: Engine, fagskole: str, settings: Settings, *, tag: str) -> uuid.UUID:
    """What a server that crashed after its 202 leaves: the batch stored, 'received', some time ago."""
    delivery = vocational_csv(fagskole, rows=ROWS, seed=7, tag=tag)
    received = batches.receive(
        db, io.BytesIO(delivery), sector="vocational", provider_orgnr=fagskole, settings=settings
    )
    received.spool.close()  # the worker that would have read it died with the server
    with db.begin() as conn:
        conn.execute(
            text("UPDATE import_batch SET received_at = now() - interval '2 minutes' WHERE id = :id"),
            {"id": received.batch_id},
        )
    return received.batch_id


def _status(db: Engine, batch_id: uuid.UUID) -> tuple[str, int]:
    with db.connect() as conn:
        row = conn.execute(
            text("SELECT status, accepted FROM import_batch WHERE id = :id"), {"id": batch_id}
        ).one()
    return row.status, row.accepted


def _settled(db: Engine, batch_id: uuid.UUID) -> tuple[str, int] | None:
    found = _status(db, batch_id)
    return found if found[0] in ("completed", "failed") else None


def test_the_restarted_server_resumes_a_batch_left_received(
    db: Engine, api_settings: Settings, token: Token
) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    batch_id = _orphan(db, fagskole, api_settings, tag="A")
    app: FastAPI = create_app(api_settings, engine=db)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:  # the start of the server
            auth = bearer(token(fagskole, WRITE))
            polled = wait_for(
                lambda: (
                    client.get(f"/v1/batches/{batch_id}", headers=auth).json()["status"]
                    in ("completed", "failed")
                ),
                timeout=60,
                what="the orphaned batch to be settled",
            )
            assert polled
            answer = client.get(f"/v1/batches/{batch_id}", headers=auth).json()
            assert (answer["status"], answer["accepted"]) == ("completed", ROWS), answer
    finally:
        app.state.import_executor.shutdown(wait=True)


def test_a_poll_resumes_a_batch_no_worker_took_up(db: Engine, app: FastAPI, token: Token) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    with TestClient(app, raise_server_exceptions=False) as client:
        # Orphaned while this server runs: another worker process of it stopped after its 202.
        batch_id = _orphan(db, fagskole, app.state.settings, tag="B")
        auth = bearer(token(fagskole, WRITE))
        assert client.get(f"/v1/batches/{batch_id}", headers=auth).status_code == 200
        assert wait_for(lambda: _settled(db, batch_id), timeout=60, what="the poll's resume") == (
            "completed",
            ROWS,
        )


def test_of_two_that_resume_a_batch_one_processes_it(db: Engine, api_settings: Settings) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    batch_id = _orphan(db, fagskole, api_settings, tag="C")
    assert batches.abandoned_received(db) == [batch_id]
    first = batches.resume_received(db, batch_id, settings=api_settings)
    assert first is not None and (first.status, first.accepted) == ("completed", ROWS)
    # The second finds it taken: nothing is read or written again.
    assert batches.resume_received(db, batch_id, settings=api_settings) is None
    assert batches.abandoned_received(db) == []
    with db.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM achievement WHERE batch_id = :b"), {"b": batch_id})
        assert stored.scalar() == ROWS


def test_a_batch_just_received_is_left_to_its_own_worker(db: Engine, api_settings: Settings) -> None:
    # A live upload claims its batch milliseconds after storing it: a fresh 'received' is not abandoned.
    fagskole = create_organisation(db, kind="fagskole")
    received = batches.receive(
        db,
        io.BytesIO(vocational_csv(fagskole, rows=3, tag="D")),
        sector="vocational",
        provider_orgnr=fagskole,
    )
    with received.spool:
        assert batches.abandoned_received(db) == []
        report = batches.process(db, received, provider_orgnr=fagskole, settings=api_settings)
    assert report.status == "completed"
