"""credits kept exactly as delivered; an organisation's name keeps its language

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-05 13:10:00

``achievement.credits`` and ``learning_specification.credits`` were numeric(8,2): a delivered 9.2857
was stored as 9.29. They become numeric without a scale, which keeps every delivered digit (the
importers already refuse values outside 0-1000). Existing rows keep the values they have.

``organisation.name_lang`` is the language of the organisation's main name (the ``name_nb`` column):
"nb" for a Norwegian organisation, "pl" for Uniwersytet Warszawski, NULL where unknown. The ELMO
export writes it as the name's xml:lang instead of "nb" for every organisation.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CREDIT_COLUMNS = (("achievement", "credits"), ("learning_specification", "credits"))


def upgrade() -> None:
    for table, column in _CREDIT_COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Numeric(),
            existing_type=sa.Numeric(precision=8, scale=2),
            existing_nullable=True,
        )
    op.add_column("organisation", sa.Column("name_lang", sa.String(length=16), nullable=True))
    # Names registered so far were registered as bokmål names of Norwegian organisations; a foreign
    # organisation's name language was never recorded, so it stays unknown rather than guessed.
    op.execute("UPDATE organisation SET name_lang = 'nb' WHERE country = 'NO'")


def downgrade() -> None:
    op.drop_column("organisation", "name_lang")
    for table, column in _CREDIT_COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Numeric(precision=8, scale=2),
            existing_type=sa.Numeric(),
            existing_nullable=True,
        )
