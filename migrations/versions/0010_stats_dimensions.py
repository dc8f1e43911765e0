"""statistics: gender, age group at completion and the provider's county

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 16:00:00

``organisation.county``: the county (fylke, SSB's code since 2024) of a Norwegian organisation, NULL
where not registered; the statistics read it when they group by county (joined at query time, so a
county registered later counts at once). ``person.gender`` (and ``person_history.gender``): as a
delivered record states it — never derived from the national id (docs/statistics.md says why).
``stats_person_cell.gender`` and ``age_group``: the person's gender and their age group in the result's
year, per person cell (a person's cells do not split: both are functions of the person and the year).
The kept roll-ups are unchanged: the new dimensions are computed on demand from the person cells.
The back-fill is written out here rather than imported: a migration keeps doing what it did when written.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AGE = "c.year - CAST(extract(year FROM p.birth_date) AS integer)"
_AGE_GROUP = (
    f"CASE WHEN {_AGE} >= 50 THEN '50+' WHEN {_AGE} >= 40 THEN '40-49' WHEN {_AGE} >= 30 THEN '30-39' "
    f"WHEN {_AGE} >= 25 THEN '25-29' WHEN {_AGE} >= 20 THEN '20-24' WHEN {_AGE} >= 0 THEN '0-19' END"
)


def upgrade() -> None:
    op.add_column("organisation", sa.Column("county", sa.String(length=2), nullable=True))
    for table in ("person", "person_history"):
        op.add_column(table, sa.Column("gender", sa.String(length=8), nullable=True))
    op.create_check_constraint("gender", "person", "gender IN ('female', 'male')")
    op.add_column("stats_person_cell", sa.Column("gender", sa.String(length=8), nullable=True))
    op.add_column("stats_person_cell", sa.Column("age_group", sa.String(length=8), nullable=True))
    # Genders were never delivered before this revision; birth dates were (ELMO).
    op.execute(
        f"""UPDATE stats_person_cell c SET age_group = {_AGE_GROUP}
            FROM person p WHERE p.id = c.person_id AND p.birth_date IS NOT NULL AND c.year IS NOT NULL"""
    )


def downgrade() -> None:
    op.drop_column("stats_person_cell", "age_group")
    op.drop_column("stats_person_cell", "gender")
    op.drop_constraint(op.f("ck_person_gender"), "person", type_="check")
    for table in ("person_history", "person"):
        op.drop_column(table, "gender")
    op.drop_column("organisation", "county")
