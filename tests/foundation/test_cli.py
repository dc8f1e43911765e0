"""The CLI through its real entry point: exit codes 0/1/2 and clear errors, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import intake.batches
from cli.main import app
from register.database import get_engine
from register.settings import get_settings
from tests.factories import create_organisation, new_nin
from tests.foundation.recordlines import RecordLines, lines


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_org_add_and_list(cli: CliRunner) -> None:
    code, out, _ = run(cli, "org", "add", "974760673", "--name", "Universitetet i Oslo", "--kind", "university",
                       "--code", "fs=185", "--code", "erasmus=N  OSLO01")  # fmt: skip
    assert code == 0, out
    code, out, _ = run(cli, "org", "list", "--json")
    orgs = json.loads(out)
    assert orgs[0]["orgnr"] == "974760673"
    assert orgs[0]["codes"] == {"erasmus": ["N  OSLO01"], "fs": ["185"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["org", "add", "974760674", "--name", "X"],
            "is not a valid organisasjonsnummer (9 digits, mod-11 check digit) [orgnr.invalid]",
        ),
        (["org", "add", "974760673", "--name", "X", "--code", "nope=1"], "[organisation.code_scheme]"),
        (["org", "add", "974760673", "--name", "X", "--kind", "castle"], "[organisation.kind]"),
    ],
)
def test_org_errors_are_clear(cli: CliRunner, args: list[str], message: str) -> None:
    code, _, err = run(cli, *args)
    assert code == 2
    assert message in err


def test_import_unknown_sector_names_the_known_ones(cli: CliRunner, tmp_path: Path) -> None:
    delivery = tmp_path / "d.csv"
    delivery.write_text("x")
    code, _, err = run(cli, "import", str(delivery), "--sector", "tertiary", "--provider", "974760673")
    assert code == 2
    assert "known sectors: primary, vocational, higher, micro" in err


def test_import_missing_file_and_unknown_provider(cli: CliRunner, tmp_path: Path) -> None:
    code, _, err = run(
        cli, "import", str(tmp_path / "nope.csv"), "--sector", "primary", "--provider", "974760673"
    )
    assert (code, "no such file" in err) == (2, True)
    delivery = tmp_path / "d.csv"
    delivery.write_text("x")
    code, _, err = run(cli, "import", str(delivery), "--sector", "primary", "--provider", "974760673")
    assert code == 2
    assert "[provider.unknown]" in err


def test_import_exit_codes_and_json_report(
    cli: CliRunner, db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake.batches, "choose", lambda *args: RecordLines())
    school = create_organisation(db)
    pupil = new_nin()
    good = tmp_path / "good.jsonl"
    good.write_bytes(lines({"nin": pupil, "key": "s-1", "org": school}))
    code, out, _ = run(cli, "import", str(good), "--sector", "primary", "--provider", school, "--json")
    report = json.loads(out)
    assert (code, report["status"], report["accepted"]) == (0, "completed", 1)
    assert set(report) >= {"batch_id", "status", "accepted", "unchanged", "rejected", "warnings", "errors"}

    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(lines({"nin": pupil, "key": "s-2", "org": school}, {"nin": "01010112345", "key": "s-3", "org": school, "ref": "row 2"}))  # fmt: skip
    code, out, _ = run(cli, "import", str(mixed), "--sector", "primary", "--provider", school, "--json")
    report = json.loads(out)
    assert code == 1
    assert report["errors"] == [
        {"record": "row 2", "path": "person.identifiers[0]", "code": "nin.checksum",
         "message": "the check digits do not match (mod-11, classic or 2032 rule)"}
    ]  # fmt: skip

    code, out, _ = run(cli, "import", str(good), "--sector", "primary", "--provider", school)
    assert code == 0
    assert "already imported" in out


def test_db_url_prints_a_libpq_url(cli: CliRunner, database_url: str) -> None:
    code, out, _ = run(cli, "db", "url")
    assert code == 0
    assert out.strip() == database_url


def test_delivers_for_an_organisation_without_orgnr(cli: CliRunner) -> None:
    """A Norwegian platform may deliver for a foreign badge issuer known only by its issuer id."""
    from sqlalchemy import text

    from register.organisations import add_organisation

    with get_engine().begin() as conn:
        add_organisation(conn, orgnr=None, name="Open University of Nowhere", kind="foreign", country="NL",
                         codes=[("issuer", "https://badges.example.org/issuer")])  # fmt: skip
    code, _, err = run(cli, "org", "add", "974760673", "--name", "Badgeplattformen", "--kind", "course_provider",
                         "--delivers-for", "issuer=https://badges.example.org/issuer")  # fmt: skip
    assert code == 0, err
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM organisation_delivery")).scalar_one() == 1
    code, _, err = run(
        cli, "org", "add", "974760673", "--name", "X", "--delivers-for", "issuer=https://nowhere"
    )
    assert (code, "[organisation.unknown]" in err) == (2, True)


def test_an_organisation_without_orgnr_is_found_again_by_its_code(cli: CliRunner) -> None:
    from sqlalchemy import text

    from register.organisations import add_organisation

    for _ in range(2):  # a demo or script run twice registers it once
        with get_engine().begin() as conn:
            add_organisation(conn, orgnr=None, name="Open University of Nowhere", kind="foreign", country="NL",
                             codes=[("issuer", "https://badges.example.org/issuer")])  # fmt: skip
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM organisation")).scalar_one() == 1


def test_stats_refresh_and_rebuild(
    cli: CliRunner, db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake.batches, "choose", lambda *args: RecordLines())
    monkeypatch.setenv("REGISTER_STATS_REFRESH", "background")  # the import leaves its persons pending
    get_settings.cache_clear()
    school = create_organisation(db)
    delivery = tmp_path / "two.jsonl"
    delivery.write_bytes(lines({"nin": new_nin(), "key": "s-1", "org": school}, {"nin": new_nin(), "key": "s-2", "org": school}))  # fmt: skip
    try:
        assert run(cli, "import", str(delivery), "--sector", "primary", "--provider", school)[0] == 0
    finally:
        get_settings.cache_clear()
    assert run(cli, "stats", "refresh") == (0, "statistics refreshed: 2 persons in 1 transactions\n", "")
    assert run(cli, "stats", "refresh") == (0, "statistics refreshed: 0 persons in 0 transactions\n", "")
    code, out, _ = run(cli, "stats", "rebuild")
    # two persons in one school, year, level and field: one cell in each of the 32 kept roll-ups
    assert (code, out) == (0, "statistics rebuilt: 32 cells\n")


def test_known_input_sweep(cli: CliRunner, db: Engine) -> None:
    assert run(cli, "known-input", "sweep") == (0, "known input swept: 0 rows removed\n", "")


def test_org_add_a_foreign_organisation_with_its_country_and_name_language(cli: CliRunner) -> None:
    code, out, err = run(cli, "org", "add", "--name", "Uniwersytet Warszawski", "--kind", "foreign",
                         "--country", "pl", "--name-lang", "pl", "--code", "erasmus=PL WARSZAW01")  # fmt: skip
    assert code == 0, err
    code, out, _ = run(cli, "org", "list", "--json")
    (org,) = json.loads(out)
    assert (org["orgnr"], org["country"], org["name_lang"]) == (None, "PL", "pl")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "foreign", "--code", "erasmus=SF TAMPERE17"], "[organisation.country_missing]"),
        (["--kind", "foreign", "--country", "XX", "--code", "erasmus=SF TAMPERE17"], "[organisation.country_invalid]"),
        (["--kind", "foreign", "--country", "NO", "--code", "erasmus=SF TAMPERE17"], "[organisation.country_foreign]"),
        (["--country", "FI", "--name-lang", "suomi!", "--code", "erasmus=SF TAMPERE17"], "[organisation.name_lang_invalid]"),
    ],
)  # fmt: skip
def test_a_foreign_organisation_never_becomes_norwegian_by_default(
    cli: CliRunner, args: list[str], message: str
) -> None:
    code, _, err = run(cli, "org", "add", "--name", "Tampereen yliopisto", *args)
    assert code == 2
    assert message in err
