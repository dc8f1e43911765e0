"""audit events in parallel hash chains: a chain column and its index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:40:00

One chain for the whole country made every look-up wait for the one before it (the writer holds the
chain's lock until it commits): the look-up benchmark showed sixteen sessions waiting on it at 32
connections. Rows now belong to one of 64 chains by person (register.audit.chain_of), each with its own
lock. Existing rows keep chain 0 and their hashes (the hash covers the chain only when it is not 0).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("chain", sa.SmallInteger(), server_default="0", nullable=False))
    op.create_index(op.f("ix_audit_event_chain_audit_event_id"), "audit_event", ["chain", "id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_event_chain_audit_event_id"), table_name="audit_event")
    op.drop_column("audit_event", "chain")
