"""statistics: record keys and cell keys for the cell-key method (register.disclosure)

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-05 13:30:00

Suppression per table could be undone by combining tables (issue 14). Every published figure is now
perturbed by a function of its cell key: the sum of the record keys of the cell's persons and of its
achievements. The keys are hashes of the ids under a random secret seed (stats_state.key_seed); the
summary tables keep their sums so that a query reads them with the counts. The back-fill is written
out here (as in 0002) rather than imported: a migration keeps doing what it did when written.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_SEED_DEFAULT = (
    "CAST(CAST('x' || substr(replace(CAST(gen_random_uuid() AS text), '-', ''), 1, 16) AS bit(64)) AS bigint)"
)
M = 2**32


def _modulo(expression: str) -> str:
    return f"CAST(mod(mod({expression}, {M}) + {M}, {M}) AS bigint)"


_KEYS = "sector, year, provider_id, level, field, nus, grade_scheme, grade_value"

# The person cells' keys, per person cell (the same grouping as its counts), then every kept
# roll-up's sums of them (rolled tells which dimensions a roll-up keeps: bit set = rolled away).
_BACKFILL = f"""
INSERT INTO stats_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING;

UPDATE stats_person_cell c SET person_key = hashtextextended(CAST(c.person_id AS text), k.key_seed)
FROM stats_state k;

WITH keys AS (
    SELECT c.id, {_modulo("sum(hashtextextended(CAST(a.id AS text), k.key_seed))")} AS achievement_key
    FROM stats_person_cell c
    CROSS JOIN stats_state k
    JOIN achievement a ON a.person_id = c.person_id AND a.status = 'valid'
                       AND a.sector = c.sector
                       AND a.year IS NOT DISTINCT FROM c.year
                       AND a.awarding_org_id IS NOT DISTINCT FROM c.provider_id
                       AND a.grade_scheme IS NOT DISTINCT FROM c.grade_scheme
                       AND a.grade_value IS NOT DISTINCT FROM c.grade_value
    JOIN learning_specification s ON s.id = a.specification_id
                       AND coalesce(s.nkr_level, 'EQF ' || s.eqf_level) IS NOT DISTINCT FROM c.level
                       AND s.iscedf_code IS NOT DISTINCT FROM c.field
                       AND s.nus_code IS NOT DISTINCT FROM c.nus
    GROUP BY c.id
)
UPDATE stats_person_cell c SET achievement_key = keys.achievement_key FROM keys WHERE keys.id = c.id;

WITH sums AS (
    SELECT (GROUPING(sector, year, provider_id, level, field) << 2) | 3 AS rolled,
           sector, year, provider_id, level, field,
           {_modulo("sum(DISTINCT person_key)")} AS person_key,
           {_modulo("sum(achievement_key)")} AS achievement_key
    FROM stats_person_cell
    GROUP BY CUBE (sector, year, provider_id, level, field)
    HAVING count(*) > 0
)
UPDATE stats_cell c SET person_key = sums.person_key, achievement_key = sums.achievement_key
FROM sums
WHERE c.rolled = sums.rolled AND c.nus IS NULL AND c.grade_scheme IS NULL AND c.grade_value IS NULL
  AND c.sector IS NOT DISTINCT FROM sums.sector AND c.year IS NOT DISTINCT FROM sums.year
  AND c.provider_id IS NOT DISTINCT FROM sums.provider_id AND c.level IS NOT DISTINCT FROM sums.level
  AND c.field IS NOT DISTINCT FROM sums.field;
"""


def upgrade() -> None:
    op.add_column(
        "stats_state",
        sa.Column("key_seed", sa.BigInteger(), server_default=sa.text(KEY_SEED_DEFAULT), nullable=False),
    )
    for table in ("stats_person_cell", "stats_cell"):
        op.add_column(table, sa.Column("person_key", sa.BigInteger(), server_default="0", nullable=False))
        op.add_column(
            table, sa.Column("achievement_key", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.execute(_BACKFILL)


def downgrade() -> None:
    for table in ("stats_cell", "stats_person_cell"):
        op.drop_column(table, "achievement_key")
        op.drop_column(table, "person_key")
    op.drop_column("stats_state", "key_seed")
