"""Known input: digests of raw records a provider delivered before, with what they made

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 18:45:00

A re-export (same records, other bytes) is recognised record by record before anything is parsed
(register.ingest.known_input): one probe of the primary key per digest.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "known_input",
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("achievement_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("content_hashes", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["organisation.id"],
            name=op.f("fk_known_input_provider_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("provider_id", "digest", name=op.f("pk_known_input")),
    )


def downgrade() -> None:
    op.drop_table("known_input")
