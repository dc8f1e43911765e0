"""OOTS: evidence requests held for the person's preview; person by birth date

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 16:30:00

An OOTS request that allows preview is answered EDM:ERR:0002 with a PreviewLocation; the request waits
in ``oots_preview`` until the person approves or refuses it there (register.oots.previews). A request
without a Norwegian identifier is matched on names and birth date (register.oots.matching): the index
keeps that to the persons born that day instead of a scan of 5.5 M rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oots_preview",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("evidence_type", sa.String(length=64), nullable=False),
        sa.Column("specification", sa.String(length=32), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'refused', 'expired')", name=op.f("ck_oots_preview_state")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_oots_preview_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oots_preview")),
        sa.UniqueConstraint("token", name=op.f("uq_oots_preview_token")),
    )
    op.create_index(op.f("ix_oots_preview_person_id"), "oots_preview", ["person_id"])
    op.create_index(op.f("ix_person_birth_date"), "person", ["birth_date"])


def downgrade() -> None:
    op.drop_index(op.f("ix_person_birth_date"), table_name="person")
    op.drop_index(op.f("ix_oots_preview_person_id"), table_name="oots_preview")
    op.drop_table("oots_preview")
