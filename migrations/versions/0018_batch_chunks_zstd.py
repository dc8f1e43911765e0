"""Delivered files: each chunk kept as a zstd frame, not compressed again by PostgreSQL

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 07:00:00

Every delivery's bytes are kept (``import_batch_chunk``), a 1 MiB chunk a row. PostgreSQL compressed
each with pglz as it stored it: a third of a second for the 52 MB micro-credential file of the
national benchmark, a quarter of that file's re-send. zstd does the same in the importing process
several times faster and smaller (``intake.batches``); the column is stored ``EXTERNAL`` so PostgreSQL
does not try its own compression on the compressed frames. ``encoding`` says how a chunk was stored:
the chunks stored before this revision stay as they are ('identity') and are read as before.

Downgrade gives every zstd chunk back its delivered bytes, one chunk at a time (bounded memory),
before the older code, which reads the bytes as stored, runs again.
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import zstandard
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "import_batch_chunk",
        sa.Column("encoding", sa.String(8), server_default="identity", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_import_batch_chunk_encoding"), "import_batch_chunk", "encoding IN ('identity', 'zstd')"
    )
    op.execute("ALTER TABLE import_batch_chunk ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    conn = op.get_bind()
    decompressor = zstandard.ZstdDecompressor()
    after: dict[str, object] = {"b": uuid.UUID(int=0), "s": -1}
    while True:  # along the primary key, one chunk at a time: memory bounded by one chunk
        row = conn.execute(
            sa.text(
                """SELECT batch_id, seq, data FROM import_batch_chunk
                   WHERE (batch_id, seq) > (:b, :s) AND encoding = 'zstd' ORDER BY batch_id, seq LIMIT 1"""
            ),
            after,
        ).first()
        if row is None:
            break
        after = {"b": row.batch_id, "s": row.seq}
        conn.execute(
            sa.text(
                """UPDATE import_batch_chunk SET data = :d, encoding = 'identity'
                   WHERE batch_id = :b AND seq = :s"""
            ),
            {**after, "d": decompressor.decompress(row.data)},
        )
    op.execute("ALTER TABLE import_batch_chunk ALTER COLUMN data SET STORAGE EXTENDED")
    op.drop_constraint(op.f("ck_import_batch_chunk_encoding"), "import_batch_chunk", type_="check")
    op.drop_column("import_batch_chunk", "encoding")
