"""`register demo` (and so `make run`) loads the demo only into an empty register.

Before, every `make run` stored the 13 demo files again, as 13 more duplicate batches.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from tests.factories import create_organisation

pytestmark = pytest.mark.slow


def batches(db: Engine) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one()


def test_the_demo_loads_once_and_again_only_when_forced(cli: CliRunner, db: Engine) -> None:
    first = cli.invoke(app, ["demo", "--showcase"])  # the once-only rule is the same at every size
    assert first.exit_code == 0, first.output
    loaded = batches(db)
    assert loaded == len(first.stdout.splitlines()) > 0  # one line and one batch per demo file

    again = cli.invoke(app, ["demo", "--showcase"])
    assert again.exit_code == 0
    assert again.stdout.startswith("demo not loaded: the register already holds ")
    assert again.stdout.endswith(f", {loaded} batches (--force loads it again)\n")
    assert batches(db) == loaded

    forced = cli.invoke(app, ["demo", "--showcase", "--force"])
    assert forced.exit_code == 0, forced.output
    assert batches(db) == 2 * loaded  # the files again, each recorded as a duplicate batch


def test_a_register_with_only_organisations_is_not_empty(cli: CliRunner, db: Engine) -> None:
    create_organisation(db)
    result = cli.invoke(app, ["demo"])
    assert (
        result.stdout
        == "demo not loaded: the register already holds 1 organisation, 0 batches (--force loads it again)\n"
    )
    assert batches(db) == 0
