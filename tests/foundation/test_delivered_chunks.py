"""A delivery's bytes are kept (``import_batch_chunk``), each 1 MiB chunk a zstd frame since migration
0018: read back they are the delivered bytes exactly, across chunk boundaries, and the chunks stored
before it (as delivered, 'identity') are read as before — a batch queued then still resumes; undoing
0018 gives every chunk back as delivered."""

from __future__ import annotations

import hashlib
import io
import random

from alembic import command
from sqlalchemy import Engine, text

from intake import batches
from register.settings import Settings
from tests.conftest import database_at_head
from tests.factories import create_organisation
from tests.reliability.deliveries import vocational_csv


def _delivery() -> bytes:
    """2.5 MiB: text that compresses well, then bytes that do not, so both kinds of frame are read."""
    rng = random.Random(18)
    text_part = b"".join(b"%d;course %d;passed\n" % (i, i % 97) for i in range(90_000))
    return text_part + rng.randbytes(int(2.5 * batches.CHUNK_BYTES) - len(text_part))


def _stored(engine: Engine, provider: str, delivery: bytes, settings: Settings) -> batches.ReceivedBatch:
    """The delivery received and left 'received', as a server that stopped before processing it leaves it."""
    received = batches.receive(
        engine, io.BytesIO(delivery), sector="vocational", provider_orgnr=provider, settings=settings
    )
    received.spool.close()
    return received


def test_a_delivery_is_kept_compressed_and_read_back_byte_for_byte(db: Engine, settings: Settings) -> None:
    delivery = _delivery()
    received = _stored(db, create_organisation(db, kind="fagskole"), delivery, settings)
    with db.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT encoding, octet_length(data) AS size FROM import_batch_chunk WHERE batch_id = :b"
                " ORDER BY seq"
            ),
            {"b": received.batch_id},
        ).all()
        read_back = b"".join(batches.delivered_chunks(conn, received.batch_id))
    assert [row.encoding for row in stored] == ["zstd"] * 3
    assert stored[0].size < batches.CHUNK_BYTES // 4  # the text compressed
    assert read_back == delivery
    assert received.sha256 == hashlib.sha256(read_back).hexdigest()


def test_postgresql_does_not_compress_the_frames_again(db: Engine) -> None:
    with db.connect() as conn:
        storage = conn.execute(
            text(
                """SELECT attstorage FROM pg_attribute
                   WHERE attrelid = 'import_batch_chunk'::regclass AND attname = 'data'"""
            )
        ).scalar_one()
    assert storage == "e"  # EXTERNAL: out of line when large, never pglz


def test_a_batch_stored_before_the_chunks_were_compressed_still_resumes(
    db: Engine, settings: Settings
) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    delivery = vocational_csv(fagskole, rows=30, seed=3)
    batch_id = _stored(db, fagskole, delivery, settings).batch_id
    with db.begin() as conn:  # its chunk as the code before migration 0018 stored it
        conn.execute(
            text("UPDATE import_batch_chunk SET data = :d, encoding = 'identity' WHERE batch_id = :b"),
            {"d": delivery, "b": batch_id},
        )
    report = batches.resume_received(db, batch_id, settings=settings)
    assert report is not None
    assert (report.status, report.accepted, report.rejected) == ("completed", 30, 0)


def test_undoing_0018_gives_every_chunk_back_as_delivered(server_admin_url: str, settings: Settings) -> None:
    with database_at_head(server_admin_url) as (engine, cfg):
        delivery = _delivery()
        batch_id = _stored(engine, create_organisation(engine, kind="fagskole"), delivery, settings).batch_id
        command.downgrade(cfg, "0017")
        with engine.connect() as conn:  # as the code before 0018 reads them: the bytes as stored
            stored = conn.execute(
                text("SELECT data FROM import_batch_chunk WHERE batch_id = :b ORDER BY seq"), {"b": batch_id}
            ).scalars()
            assert b"".join(stored) == delivery
        command.upgrade(cfg, "heads")  # and up again: those chunks stay as delivered, read as such
        with engine.connect() as conn:
            assert b"".join(batches.delivered_chunks(conn, batch_id)) == delivery
