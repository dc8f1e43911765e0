"""Migrations 0002 and 0009 back-fill the summary tables (counts and cell keys) from achievements already
in the database, exactly."""

from __future__ import annotations

from decimal import Decimal

from alembic import command
from sqlalchemy import create_engine, text

from register import stats
from register.database import to_sqlalchemy
from register.schema import alembic_config
from tests.api.rows import Spec, add_achievement, new_batch, new_person
from tests.conftest import create_database, drop_database

CELLS = """SELECT rolled, sector, year, provider_id, level, field, nus, grade_scheme, grade_value, achievements,
                  persons, credits_ects, credits_fagskolepoeng, credits_hours, person_key, achievement_key
           FROM stats_cell"""
PERSON_CELLS = """SELECT person_id, sector, year, provider_id, level, field, nus, grade_scheme, grade_value,
                         achievements, person_key, achievement_key FROM stats_person_cell"""


def test_backfill_equals_rebuild(server_admin_url: str) -> None:
    url = create_database(server_admin_url, prefix="register_backfill")
    engine = create_engine(to_sqlalchemy(url))
    try:
        command.upgrade(alembic_config(url), "0001")
        with engine.begin() as conn:
            org = "974760673"
            conn.execute(
                text(
                    "INSERT INTO organisation (orgnr, name_nb, kind) VALUES (:o, 'Universitetet', 'university')"
                ),
                {"o": org},
            )
            batch = new_batch(conn, org)
            for i in range(8):
                person = new_person(conn)
                for j in range(3):
                    add_achievement(
                        conn,
                        person_id=person,
                        batch_id=batch,
                        provider_orgnr=org,
                        spec=Spec(
                            f"E{j}", nkr_level=None if j == 2 else "7", eqf_level=7 if j == 2 else None
                        ),
                        year=2020 + (i + j) % 3,
                        grade=("a-f", "ABF"[(i + j) % 3], (i + j) % 3 != 2),
                        credits=Decimal("7.5") * (j + 1),
                    )
        command.upgrade(alembic_config(url), "heads")
        with engine.begin() as conn:
            backfilled = {tuple(r) for r in conn.execute(text(CELLS))}
            backfilled_persons = {tuple(r) for r in conn.execute(text(PERSON_CELLS))}
            stats.rebuild(conn)
            rebuilt = {tuple(r) for r in conn.execute(text(CELLS))}
            rebuilt_persons = {tuple(r) for r in conn.execute(text(PERSON_CELLS))}
        # 0002 and 0009 back-filled the counts and the cell keys as a rebuild computes them.
        assert backfilled == rebuilt and backfilled_persons == rebuilt_persons
        assert all(key != 0 for row in rebuilt for key in row[-2:])
        assert len(rebuilt) > 50
    finally:
        engine.dispose()
        drop_database(server_admin_url, url)
