"""``register token`` prints only a token, which the API trusts in development."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.auth import TokenVerifier
from cli.main import app
from register.settings import Settings, get_settings

ORG = "910000004"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("REGISTER_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_token_prints_only_a_verifiable_token(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["token", "--scope", "kompetanse:read kompetanse:stats", "--scope", "kompetanse:write", "--org", ORG],
    )
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    principal = TokenVerifier.from_settings(Settings(data_dir=data_dir)).verify(line)
    assert principal.orgnr == ORG
    assert principal.scopes == {"kompetanse:read", "kompetanse:stats", "kompetanse:write"}


def test_token_refuses_bad_requests(data_dir: Path) -> None:
    result = CliRunner().invoke(
        app, ["token", "--scope", "kompetanse:read", "--org", ORG, "--expires-in", "0"]
    )
    assert result.exit_code == 2
    assert result.stdout == "" and "token.request_invalid" in result.stderr


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"REGISTER_ENVIRONMENT": "production"}, "REGISTER_DATABASE_URL"),
        (
            {"REGISTER_ENVIRONMENT": "production", "REGISTER_DATABASE_URL": "postgresql://u:secret@db/x"},
            "REGISTER_JWT_ISSUERS",
        ),
        ({"REGISTER_DB_POOL_SIZE": "many"}, "REGISTER_DB_POOL_SIZE"),
    ],
)
def test_token_with_incomplete_settings_says_what_is_missing(
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    environment: dict[str, str],
    named: str,
) -> None:
    """It printed a traceback (logged by the catch-all); now one line naming the setting, exit 2."""
    for name in [n for n in os.environ if n.startswith("REGISTER_") and n != "REGISTER_DATA_DIR"]:
        monkeypatch.delenv(name)  # the test session (and other tests) may have set them
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["token", "--scope", "kompetanse:read", "--org", ORG])
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "settings.invalid" in line and named in line and "secret" not in line
    assert "Traceback" not in result.output and not [r for r in caplog.records if r.exc_info]
