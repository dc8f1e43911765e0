"""batches: each record's outcome, progress while processing, re-sending a file that had rejections

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-05 16:00:00

``import_record`` keeps, per batch, each record that passed every check: its source key, the
achievement it became or matched, and whether it was new, changed or unchanged (a rejected record is
in ``import_rejection`` already). A provider reads it at ``GET /v1/batches/{id}/records`` to learn the
ids it may withdraw. No foreign key to ``achievement``: the rows are written with the batch, in bulk,
and an achievement is never deleted.

``import_batch.records_done``: the records a batch in 'processing' has read so far.

The unique index on completed (provider, sha256) covered every completed batch, so a file re-sent after
its rejections' cause was fixed (a delivery relation added) was answered ``duplicate`` and never
imported again. It now covers only completed batches without rejections: those are the duplicates.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_record",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ref", sa.Text(), nullable=True),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("achievement_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('new', 'changed', 'unchanged')", name=op.f("ck_import_record_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["import_batch.id"],
            name=op.f("fk_import_record_batch_id_import_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("batch_id", "seq", name=op.f("pk_import_record")),
    )
    op.add_column("import_batch", sa.Column("records_done", sa.Integer(), server_default="0", nullable=False))
    op.drop_index("uq_import_batch_completed_file", table_name="import_batch")
    op.create_index(
        "uq_import_batch_completed_file",
        "import_batch",
        ["provider_id", "sha256"],
        unique=True,
        postgresql_where=sa.text("status = 'completed' AND rejected = 0"),
    )


def downgrade() -> None:
    op.drop_index("uq_import_batch_completed_file", table_name="import_batch")
    # Two completed batches of one file (the second a re-send after rejections) cannot both stay
    # under the old index: the later ones become what they would have been then, duplicates.
    op.execute(
        """UPDATE import_batch b SET status = 'duplicate', duplicate_of = first.id
           FROM (SELECT DISTINCT ON (provider_id, sha256) id, provider_id, sha256 FROM import_batch
                 WHERE status = 'completed' ORDER BY provider_id, sha256, received_at, id) first
           WHERE b.status = 'completed' AND b.provider_id = first.provider_id AND b.sha256 = first.sha256
             AND b.id <> first.id"""
    )
    op.create_index(
        "uq_import_batch_completed_file",
        "import_batch",
        ["provider_id", "sha256"],
        unique=True,
        postgresql_where=sa.text("status = 'completed'"),
    )
    op.drop_column("import_batch", "records_done")
    op.drop_table("import_record")
