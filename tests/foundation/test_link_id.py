"""``register person link-id``: the operator's change of national id (register.identity, I6)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from intake.batches import run_import
from register.settings import Settings
from tests.factories import create_organisation, new_nin
from tests.foundation.recordlines import lines

pytestmark = pytest.mark.usefixtures("record_lines")


def run(cli: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = cli.invoke(app, ["person", "link-id", *args], input=stdin)
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout + result.stderr


def person_of(db: Engine, nin: str) -> Any:
    with db.connect() as conn:
        return conn.execute(
            text("SELECT person_id FROM person_identifier WHERE value = :v"), {"v": nin}
        ).scalar()


@pytest.fixture
def school(db: Engine) -> str:
    return create_organisation(db, name="Nordby videregående skole")


def deliver(db: Engine, settings: Settings, school: str, nin: str, key: str) -> None:
    report = run_import(
        db,
        io.BytesIO(lines({"nin": nin, "key": key, "org": school, "code": key})),
        sector="primary",
        provider_orgnr=school,
        settings=settings,
    )
    assert report.accepted == 1


def test_a_new_number_joins_the_old_ones_person_from_standard_input(
    cli: CliRunner, db: Engine, settings: Settings, school: str
) -> None:
    d_number, birth_number = new_nin(), new_nin()
    deliver(db, settings, school, d_number, "s-1")
    code, output = run(
        cli, "--from-file", "-", stdin=f"# D-nummer → fødselsnummer\n{d_number}\n{birth_number}\n"
    )
    assert code == 0, output
    assert d_number not in output and birth_number not in output
    assert person_of(db, birth_number) == person_of(db, d_number) is not None
    # Later deliveries under either number land with the one person.
    deliver(db, settings, school, birth_number, "s-2")
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT person_id) FROM achievement")).scalar() == 1
        event = conn.execute(
            text("SELECT person_id, details FROM audit_event WHERE action = 'person.link_id'")
        ).one()
    assert event.person_id == person_of(db, d_number)
    assert d_number not in str(event.details) and birth_number not in str(event.details)


def test_from_a_file_never_as_arguments(
    cli: CliRunner, db: Engine, settings: Settings, school: str, tmp_path: Path
) -> None:
    old, new, newer = new_nin(), new_nin(), new_nin()
    deliver(db, settings, school, old, "s-1")
    numbers = tmp_path / "numbers.txt"
    numbers.write_text(f"{old} {new}\n")
    assert run(cli, "--from-file", str(numbers))[0] == 0
    assert run(cli, "--from-file", str(numbers))[0] == 0  # linked already: nothing to do
    # On the command line they would stay in the shell history: refused, and not quoted back.
    code, output = run(cli, new, newer)
    assert code == 2 and "cli.nin_in_arguments" in output and new not in output
    assert person_of(db, newer) is None
    assert person_of(db, new) == person_of(db, old)


def test_a_number_of_another_person_is_refused(
    cli: CliRunner, db: Engine, settings: Settings, school: str
) -> None:
    anna, bjorn = new_nin(), new_nin()
    deliver(db, settings, school, anna, "a-1")
    deliver(db, settings, school, bjorn, "b-1")
    code, output = run(cli, "--from-file", "-", stdin=f"{anna} {bjorn}")
    assert code == 1
    assert "person.identifier_conflict" in output and anna not in output and bjorn not in output
    assert person_of(db, anna) != person_of(db, bjorn)


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ("12345678901 {new}", "nin."),  # a malformed old number
        ("{unknown} {new}", "person.not_found"),
        ("{new}", "expected two"),
    ],
)
def test_unusable_input_exits_2(
    cli: CliRunner, db: Engine, settings: Settings, school: str, stdin: str, expected: str
) -> None:
    new, unknown = new_nin(), new_nin()
    code, output = run(cli, "--from-file", "-", stdin=stdin.format(new=new, unknown=unknown))
    assert code == 2 and expected in output
    assert new not in output and unknown not in output
