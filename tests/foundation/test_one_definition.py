"""Facts declared once (issue 15, item 3): the code derives them, and these tests catch a second copy."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from intake.registry import all_importers
from register.grading import AchievementKind, SpecificationKind
from register.models.achievement import SECTORS
from register.models.organisation import CODE_SCHEMES, ORGANISATION_KINDS
from register.models.person import IDENTIFIER_KINDS
from register.sectors import SECTOR_RULES, OrganisationKind, Sector

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = ("register", "importers", "intake", "api", "cli", "demo")


def application_sources() -> list[Path]:
    return [path for package in APPLICATION for path in sorted((ROOT / package).rglob("*.py"))]


def test_no_advisory_lock_key_is_written_as_a_number_outside_register_locks() -> None:
    # pg_advisory_xact_lock(7001, …) in a statement is a key nobody can find by its name.
    literal = re.compile(r"pg_(?:try_)?advisory_(?:xact_)?(?:un)?lock(?:_shared)?\(\s*\d")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in application_sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if literal.search(line)
    ]
    assert found == []


# Each enum beside the check constraint that the migrations made for it (a new member needs a migration).
CONSTRAINED = [
    ("achievement", "sector", Sector),
    ("achievement", "kind", AchievementKind),
    ("learning_specification", "kind", SpecificationKind),
    ("organisation", "kind", OrganisationKind),
    ("person_identifier", "kind", IDENTIFIER_KINDS),
    ("organisation_code", "scheme", CODE_SCHEMES),
]


@pytest.mark.parametrize(("table", "column", "values"), CONSTRAINED, ids=lambda x: getattr(x, "__name__", x))
def test_the_databases_check_constraint_allows_exactly_the_enums_values(
    engine: Engine, table: str, column: str, values: Iterable[str]
) -> None:
    with engine.connect() as conn:
        definition = conn.execute(
            text(
                """SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
                   WHERE c.conrelid = CAST(:table AS regclass) AND c.contype = 'c' AND c.conname = :name"""
            ),
            {"table": table, "name": f"ck_{table}_{column}"},
        ).scalar_one()
    assert set(re.findall(r"'([^']*)'", definition)) == {str(value) for value in values}


def test_the_models_check_constraints_are_made_from_the_enums() -> None:
    assert tuple(Sector) == SECTORS
    assert tuple(OrganisationKind) == ORGANISATION_KINDS


def test_every_sector_has_its_rule_and_an_importer() -> None:
    assert set(SECTOR_RULES) == set(Sector)
    served = {sector for importer in all_importers() for sector in importer.sectors}
    assert served == set(Sector)


def test_the_elmo_namespace_is_spelled_once() -> None:
    spelled = [
        str(path.relative_to(ROOT))
        for path in application_sources()
        if "emrex-eu/elmo-schemas" in path.read_text(encoding="utf-8")
    ]
    assert spelled == ["register/namespaces.py"]
