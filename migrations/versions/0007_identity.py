"""identity: a result is (awarding organisation, source key); person names keep their history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 13:40:00

A result was identified by (provider, source key), so a school and the county delivering for it
stored the same vitnemål twice (issue 13, finding 4). It is now identified by (source key, awarding
organisation), whoever of those entitled delivers it. Rows stored twice before this migration are
kept, not merged (which copy is right is the operators' call): the later copies get their provider's
id appended to the source key ("…#provider-17"), where an operator can find them with
``source_key LIKE '%#provider-%'``. person_history is new and append-only (register.identity, I8).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "register_app"


def upgrade() -> None:
    op.execute(
        """
        UPDATE achievement a SET source_key = a.source_key || '#provider-' || a.provider_id
        FROM (SELECT id, row_number() OVER (PARTITION BY source_key, awarding_org_id
                                            ORDER BY created_at, id) AS n
              FROM achievement) d
        WHERE d.id = a.id AND d.n > 1
        """
    )
    op.drop_constraint("uq_achievement_provider_id_source_key", "achievement", type_="unique")
    op.create_unique_constraint(
        op.f("uq_achievement_source_key_awarding_org_id"), "achievement", ["source_key", "awarding_org_id"]
    )
    op.create_table(
        "person_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("given_name", sa.Text(), nullable=True),
        sa.Column("family_name", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("replaced_by_batch_id", sa.Uuid(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_history_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_batch_id"],
            ["import_batch.id"],
            name=op.f("fk_person_history_replaced_by_batch_id_import_batch"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_history")),
    )
    op.create_index(op.f("ix_person_history_person_id"), "person_history", ["person_id"], unique=False)
    # Append-only for the application, as audit_event (0003): rows are added, never changed.
    op.execute(
        f"""DO $$ BEGIN
              IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                REVOKE UPDATE, DELETE, TRUNCATE ON person_history FROM {ROLE};
              END IF;
            END $$"""
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_person_history_person_id"), table_name="person_history")
    op.drop_table("person_history")
    op.drop_constraint(op.f("uq_achievement_source_key_awarding_org_id"), "achievement", type_="unique")
    # A result one organisation delivered and another delivered on its behalf is one row now; the old
    # key allows that, so nothing needs renaming on the way back.
    op.create_unique_constraint(
        op.f("uq_achievement_provider_id_source_key"), "achievement", ["provider_id", "source_key"]
    )
