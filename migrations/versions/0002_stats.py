"""summary tables for analysts (stats_person_cell, stats_cell) and achievement(batch_id) index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:58:09.903258
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIMENSIONS = ("sector", "year", "provider_id", "level", "field", "nus", "grade_scheme", "grade_value")

# The back-fill is written out here rather than imported from register.stats: a migration must keep
# doing what it did when it was written, whatever the code does later.
_BACKFILL = """
INSERT INTO stats_person_cell (person_id, sector, year, provider_id, level, field, nus, grade_scheme,
                               grade_value, achievements, credits_ects, credits_fagskolepoeng, credits_hours)
SELECT a.person_id, a.sector, a.year, a.awarding_org_id,
       coalesce(s.nkr_level, 'EQF ' || s.eqf_level), s.iscedf_code, s.nus_code,
       a.grade_scheme, a.grade_value, count(*),
       coalesce(sum(a.credits) FILTER (WHERE a.credit_scheme = 'ects' AND a.grade_passed IS NOT FALSE), 0),
       coalesce(sum(a.credits) FILTER (WHERE a.credit_scheme = 'fagskolepoeng' AND a.grade_passed IS NOT FALSE), 0),
       coalesce(sum(a.credits) FILTER (WHERE a.credit_scheme = 'hours' AND a.grade_passed IS NOT FALSE), 0)
FROM achievement a JOIN learning_specification s ON s.id = a.specification_id
WHERE a.status = 'valid'
GROUP BY a.person_id, a.sector, a.year, a.awarding_org_id, 5, s.iscedf_code, s.nus_code,
         a.grade_scheme, a.grade_value;

INSERT INTO stats_cell (rolled, sector, year, provider_id, level, field, nus, grade_scheme, grade_value,
                        achievements, persons, credits_ects, credits_fagskolepoeng, credits_hours)
SELECT GROUPING(sector, year, provider_id, level, field, nus, grade_scheme),
       sector, year, provider_id, level, field, nus, grade_scheme, grade_value,
       sum(achievements), count(DISTINCT person_id), sum(credits_ects), sum(credits_fagskolepoeng),
       sum(credits_hours)
FROM stats_person_cell
GROUP BY CUBE (sector, year, provider_id, level, field, nus, (grade_scheme, grade_value))
HAVING count(*) > 0;  -- the empty grouping set yields a row even over no rows
"""


def _dimension_columns() -> list[sa.Column]:
    return [
        sa.Column("year", sa.SmallInteger(), nullable=True),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("field", sa.String(length=16), nullable=True),
        sa.Column("nus", sa.String(length=16), nullable=True),
        sa.Column("grade_scheme", sa.String(length=16), nullable=True),
        sa.Column("grade_value", sa.Text(), nullable=True),
    ]


def _credit_columns(precision: int) -> list[sa.Column]:
    return [
        sa.Column(
            f"credits_{scheme}", sa.Numeric(precision=precision, scale=2), server_default="0", nullable=False
        )
        for scheme in ("ects", "fagskolepoeng", "hours")
    ]


def upgrade() -> None:
    op.create_table(
        "stats_cell",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("rolled", sa.SmallInteger(), nullable=False),
        sa.Column("sector", sa.String(length=16), nullable=True),
        *_dimension_columns(),
        sa.Column("achievements", sa.BigInteger(), nullable=False),
        sa.Column("persons", sa.BigInteger(), nullable=False),
        *_credit_columns(16),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_cell")),
    )
    op.create_index(
        "uq_stats_cell_key",
        "stats_cell",
        ["rolled", *_DIMENSIONS],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "stats_person_cell",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("sector", sa.String(length=16), nullable=False),
        *_dimension_columns(),
        sa.Column("achievements", sa.Integer(), nullable=False),
        *_credit_columns(12),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_person_cell")),
    )
    op.create_index(op.f("ix_stats_person_cell_person_id"), "stats_person_cell", ["person_id"], unique=False)
    op.create_index(op.f("ix_achievement_batch_id"), "achievement", ["batch_id"], unique=False)
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_index(op.f("ix_achievement_batch_id"), table_name="achievement")
    op.drop_index(op.f("ix_stats_person_cell_person_id"), table_name="stats_person_cell")
    op.drop_table("stats_person_cell")
    op.drop_index("uq_stats_cell_key", table_name="stats_cell", postgresql_nulls_not_distinct=True)
    op.drop_table("stats_cell")
