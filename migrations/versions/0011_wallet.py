"""wallet issuance: offers, access tokens, nonces, issued credentials with their status-list entries

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-05 16:00:00

OpenID4VCI pre-authorized issuance of SD-JWT VCs (register.wallet, docs/wallet.md). Every secret is
stored as its SHA-256. ``wallet_status_seq`` counts issued credentials: it decides which status list a
new credential goes into (register.wallet.status), never its place in the list, which is random.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUIDS = postgresql.ARRAY(postgresql.UUID(as_uuid=True))
_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "wallet_offer",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("tx_code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("configuration_ids", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("achievement_ids", _UUIDS, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name="fk_wallet_offer_person_id_person"),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_offer"),
        sa.UniqueConstraint("code_hash", name="uq_wallet_offer_code_hash"),
    )
    op.create_index("ix_wallet_offer_person_id", "wallet_offer", ["person_id"])
    op.create_table(
        "wallet_access_token",
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["wallet_offer.id"],
            name="fk_wallet_access_token_offer_id_wallet_offer",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_wallet_access_token"),
    )
    op.create_index("ix_wallet_access_token_offer_id", "wallet_access_token", ["offer_id"])
    op.create_table(
        "wallet_nonce",
        sa.Column("nonce_hash", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash", name="pk_wallet_nonce"),
    )
    op.create_index("ix_wallet_nonce_expires_at", "wallet_nonce", ["expires_at"])
    op.create_table(
        "wallet_credential",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=True),
        sa.Column("configuration_id", sa.Text(), nullable=False),
        sa.Column("achievement_ids", _UUIDS, nullable=False),
        sa.Column("holder_jkt", sa.Text(), nullable=False),
        sa.Column("status_list", sa.Integer(), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invalidated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN (0, 1)", name="ck_wallet_credential_status"),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["wallet_offer.id"],
            name="fk_wallet_credential_offer_id_wallet_offer",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name="fk_wallet_credential_person_id_person"),
        sa.PrimaryKeyConstraint("id", name="pk_wallet_credential"),
        sa.UniqueConstraint(
            "status_list", "status_index", name="uq_wallet_credential_status_list_status_index"
        ),
    )
    op.create_index(
        "ix_wallet_credential_achievement_ids",
        "wallet_credential",
        ["achievement_ids"],
        postgresql_using="gin",
    )
    op.create_index("ix_wallet_credential_person_id", "wallet_credential", ["person_id"])
    op.execute("CREATE SEQUENCE wallet_status_seq")


def downgrade() -> None:
    op.execute("DROP SEQUENCE wallet_status_seq")
    op.drop_table("wallet_credential")
    op.drop_table("wallet_nonce")
    op.drop_table("wallet_access_token")
    op.drop_table("wallet_offer")
