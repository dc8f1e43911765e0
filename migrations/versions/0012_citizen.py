"""citizen: login sessions and share links

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-05 16:00:00

The citizen's pages (api/citizen, docs/citizen.md) keep their sessions server-side, so that logging
out ends a session for good, and share links as a hash of their secret. Neither table holds a
national id.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citizen_session",
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        sa.Column("login", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_citizen_session_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_citizen_session")),
    )
    op.create_index(op.f("ix_citizen_session_expires_at"), "citizen_session", ["expires_at"])
    op.create_index(op.f("ix_citizen_session_person_id"), "citizen_session", ["person_id"])
    op.create_table(
        "share_link",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("achievement_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_share_link_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_link")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_share_link_secret_hash")),
    )
    op.create_index(op.f("ix_share_link_person_id"), "share_link", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_share_link_person_id"), table_name="share_link")
    op.drop_table("share_link")
    op.drop_index(op.f("ix_citizen_session_person_id"), table_name="citizen_session")
    op.drop_index(op.f("ix_citizen_session_expires_at"), table_name="citizen_session")
    op.drop_table("citizen_session")
