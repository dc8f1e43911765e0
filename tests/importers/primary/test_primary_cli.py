"""A provider's path from the docs, through the real CLI: register the school and county, import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli.main import app
from register.database import get_engine

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "formats" / "examples"
COUNTY, SCHOOL = "957002013", "931946773"


@pytest.fixture
def cli(db: Engine) -> Iterator[CliRunner]:
    get_engine.cache_clear()  # the CLI's engine must point at the test database
    yield CliRunner()
    get_engine().dispose()
    get_engine.cache_clear()


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout + result.stderr


def test_register_then_import_the_documented_example(cli: CliRunner, tmp_path: Path) -> None:
    assert run(cli, "org", "add", SCHOOL, "--name", "Eksempel vgs", "--kind", "school")[0] == 0
    assert (
        run(
            cli,
            "org",
            "add",
            COUNTY,
            "--name",
            "Eksempel fylke",
            "--kind",
            "county",
            "--delivers-for",
            SCHOOL,
        )[0]
        == 0
    )

    code, out = run(
        cli, "import", str(EXAMPLES / "primary.csv"), "--sector", "primary", "--provider", COUNTY, "--json"
    )
    assert code == 0, out
    report = json.loads(out)
    assert (report["format"], report["accepted"], report["rejected"]) == ("primary-csv", 14, 0)

    bad = tmp_path / "bad.csv"
    lines = (EXAMPLES / "primary.csv").read_text().splitlines()
    bad.write_text("\n".join([lines[0], lines[1].replace(";standpunkt;5;", ";standpunkt;7;")]) + "\n")
    code, out = run(cli, "import", str(bad), "--sector", "primary", "--provider", COUNTY, "--json")
    assert code == 1
    [error] = json.loads(out)["errors"]
    assert (error["record"], error["path"], error["code"]) == ("row 1", "karakter", "grade.invalid")

    latin = tmp_path / "latin.csv"
    latin.write_bytes((EXAMPLES / "primary.csv").read_text().encode("latin-1"))
    code, out = run(cli, "import", str(latin), "--sector", "primary", "--provider", COUNTY)
    assert code == 2 and "encoding.not_utf8" in out and "ISO-8859-1" in out
