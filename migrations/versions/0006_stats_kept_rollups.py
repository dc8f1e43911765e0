"""statistics: keep the 32 roll-ups of sector, year, provider, level and field; the rest on demand

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 15:50:00

The full cube of seven dimensions (128 roll-ups) grows with the persons, mostly in the roll-ups that
keep the NUS code or the grade (many values each): 740 000 cells for 3 000 persons, and every refresh
recomputed a touched person's share of all of them. register.stats now keeps only the roll-ups in
which NUS and grade are rolled away and computes the others on demand from stats_person_cell.
The downgrade puts the other roll-ups back, computed from stats_person_cell.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = "sector, year, provider_id, level, field, nus, grade_scheme, grade_value"
CREDITS = "credits_ects, credits_fagskolepoeng, credits_hours"


def upgrade() -> None:
    # rolled: bit 1 = NUS rolled away, bit 0 = grade rolled away; the kept roll-ups have both set.
    op.execute("DELETE FROM stats_cell WHERE rolled & 3 <> 3")


def downgrade() -> None:
    op.execute(
        f"""INSERT INTO stats_cell (rolled, {KEYS}, achievements, persons, {CREDITS})
            SELECT GROUPING(sector, year, provider_id, level, field, nus, grade_scheme), {KEYS},
                   sum(achievements), count(DISTINCT person_id),
                   sum(credits_ects), sum(credits_fagskolepoeng), sum(credits_hours)
            FROM stats_person_cell
            GROUP BY CUBE (sector, year, provider_id, level, field, nus, (grade_scheme, grade_value))
            HAVING count(*) > 0
               AND GROUPING(sector, year, provider_id, level, field, nus, grade_scheme) & 3 <> 3"""
    )
