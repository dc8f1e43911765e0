"""The CLI finds the register's data directory the same way from any folder, or says it found none.

Before, ``register`` run in another folder made ``./.register`` there: a second, empty database (then
``org list`` failed) and a second signing key (then the API refused its tokens). These tests run the CLI
in temporary folders; the project's own ``.register`` is hidden from the search (``no_project``) except
where a test puts one in its place.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.auth import TokenVerifier
from cli.main import app
from register import datadir, embedded
from register.database import get_engine
from register.settings import Settings, get_settings

ORG = "910000004"


@pytest.fixture
def no_project(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI as a wheel would run it: no project folder to fall back on, no register named by env."""
    monkeypatch.setattr(datadir, "project_root", lambda: None)
    for name in ("REGISTER_DATA_DIR", "REGISTER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield
    get_settings.cache_clear()
    get_engine.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["org", "list"],
        ["db", "url"],
        ["audit", "verify"],
        ["token", "--scope", "kompetanse:read", "--org", ORG],
    ],
)
def test_with_no_register_found_a_command_says_where_it_looked_and_creates_nothing(
    no_project: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(*command)
    assert (code, out) == (2, "")
    assert "[datadir.not_found]" in err
    assert f"no .register folder in {tmp_path} or any folder above it" in err
    assert "register db upgrade" in err
    assert list(tmp_path.iterdir()) == []  # no second register, no stray key


def test_a_register_is_found_from_any_folder_below_it(
    no_project: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_dir = tmp_path / "project" / ".register"
    register_dir.mkdir(parents=True)
    deeper = tmp_path / "project" / "docs" / "notes"
    deeper.mkdir(parents=True)
    monkeypatch.chdir(deeper)
    assert Settings().data_dir == register_dir

    code, out, _ = run("token", "--scope", "kompetanse:read", "--org", ORG)
    assert code == 0
    # signed with the register's key, so the API of that register (run from its folder) trusts it
    assert (register_dir / "dev-token-key.pem").exists()
    assert TokenVerifier.from_settings(Settings(data_dir=register_dir)).verify(out.strip()).orgnr == ORG


def test_the_installed_projects_register_is_found_from_an_unrelated_folder(
    no_project: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / ".register").mkdir(parents=True)
    monkeypatch.setattr(datadir, "project_root", lambda: project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Settings().data_dir == project / ".register"


def test_a_register_folder_without_a_database_says_so(
    no_project: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".register" / "test").mkdir(parents=True)  # what `make test` leaves in a fresh clone
    monkeypatch.chdir(tmp_path)
    code, _, err = run("org", "list")
    assert code == 2
    assert f"the register folder {tmp_path / '.register'} has no database yet" in err
    assert not (tmp_path / ".register" / "pgdata").exists()


def test_a_named_data_dir_that_holds_no_register_is_the_only_place_looked_at(
    no_project: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".register").mkdir()  # would be found by the search, but REGISTER_DATA_DIR decides
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGISTER_DATA_DIR", str(tmp_path / "named"))
    code, _, err = run("org", "list")
    assert code == 2
    assert f"REGISTER_DATA_DIR={tmp_path / 'named'} holds no register" in err


@pytest.mark.slow
def test_db_upgrade_creates_the_register_here_and_every_folder_below_finds_it(
    no_project: None, server_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(server_folder)
    try:
        code, out, err = run("db", "upgrade")
        assert (code, out) == (0, "database at head\n")
        assert f"creating a new register in {server_folder / '.register'}" in err

        get_settings.cache_clear()
        get_engine.cache_clear()
        below = server_folder / "some" / "folder"
        below.mkdir(parents=True)
        monkeypatch.chdir(below)
        assert run("org", "list", "--json") == (0, "[]\n", "")  # the same, migrated register
        assert not (below / ".register").exists()
    finally:
        get_engine().dispose()
        embedded.stop(server_folder / ".register")
