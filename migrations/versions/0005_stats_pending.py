"""statistics refreshed outside the import's transaction: the pending persons and a version

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:40:00

The roll-ups were recomputed inside every import's transaction, about half of each import's time (see
docs/performance.md). An import now only adds the persons it touched to ``stats_pending``; a refresh
in its own transaction recomputes them (register.stats.refresh_pending), many batches at once.
``stats_state`` counts the refreshes, so answers can be cached until the next one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stats_pending",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_stats_pending")),
    )
    op.create_table(
        "stats_state",
        sa.Column("id", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_stats_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_state")),
    )


def downgrade() -> None:
    op.drop_table("stats_state")
    op.drop_table("stats_pending")
