"""Every example of the API and format documentation works as written on a register with the demo's
organisations (what ``make run`` starts): the requests through the app over HTTP, the commands
through the CLI, each page from top to bottom as a reader would follow it (tests/docs/runner.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app as cli_app
from demo.load import register_organisations
from register.database import get_engine
from register.settings import Settings, get_settings
from tests.docs.runner import Session, blocks

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: the pages for API clients and providers, whose examples a reader copies
PAGES = (
    "api.md",
    "graphql.md",
    "formats/primary.md",
    "formats/vocational.md",
    "formats/elmo.md",
    "formats/micro.md",
)
EXAMPLES = DOCS / "formats" / "examples"


@pytest.fixture
def session(db: Engine, api_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """The register of ``make run`` before its demo deliveries: the demo's organisations, nothing else."""
    register_organisations(db)
    # One data directory for the app and the CLI: `register token` signs with the development key
    # the app trusts.
    settings = api_settings.model_copy(
        update={
            "data_dir": Path(os.environ["REGISTER_DATA_DIR"]),
            # what `make run` has: the settings' defaults, where the API tests' fixture lowers them
            "max_upload_bytes": Settings.model_fields["max_upload_bytes"].default,
            "suppression_threshold": Settings.model_fields["suppression_threshold"].default,
        }
    )
    monkeypatch.chdir(ROOT)  # the docs name files from the repository's root
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        with TestClient(create_app(settings, engine=db), raise_server_exceptions=False) as client:
            yield Session(client=client, cli=CliRunner(), root=ROOT)
    finally:
        get_engine().dispose()
        get_engine.cache_clear()
        get_settings.cache_clear()


@pytest.mark.parametrize("page", PAGES)
def test_the_page_examples_work_as_written(page: str, session: Session) -> None:
    found = blocks(DOCS / page)
    assert found, f"{page} has no example"
    for block in found:
        session.run(block)
    assert session.ran, f"{page}: nothing was run"


def test_every_format_example_imports_on_the_demo_register_over_http_and_the_cli(session: Session) -> None:
    """Each file of docs/formats/examples, uploaded by the demo organisation that delivers it, is
    imported whole; sent again by the CLI it is a duplicate."""
    providers = {
        "primary": "957002013",  # Vestfjord fylkeskommune, for its schools
        "vocational": "965897976",  # Fjordvik fagskole
        "elmo": "963218117",  # Universitetet i Nordvik (demo)
        "micro": "921193521",  # Kursakademiet AS
    }
    sectors = {"primary": "primary", "vocational": "vocational", "elmo": "higher", "micro": "micro"}
    files = sorted(p for p in EXAMPLES.iterdir() if not p.name.endswith(".expected.json"))
    assert {p.name.split(".")[0].split("-")[0] for p in files} == set(providers)
    for path in files:
        kind = path.name.split(".")[0].split("-")[0]
        token = session.cli.invoke(
            cli_app,
            ["token", "--scope", "kompetanse:write", "--org", providers[kind]],
            catch_exceptions=False,
        ).output.strip()
        answer = session.client.post(
            f"/v1/batches?sector={sectors[kind]}&filename={path.name}",
            content=path.read_bytes(),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201, (path.name, answer.text)
        report = answer.json()
        assert (report["status"], report["rejected"]) == ("completed", 0), (path.name, report)
        assert report["accepted"] == (
            path.with_name(path.name + ".expected.json").read_text().count('"type": "record"')
        )
        again = session.cli.invoke(
            cli_app,
            [
                "import",
                str(path.relative_to(ROOT)),
                "--sector",
                sectors[kind],
                "--provider",
                providers[kind],
                "--json",
            ],
            catch_exceptions=False,
        )
        assert again.exit_code == 0, (path.name, again.output)
        assert json.loads(again.output)["duplicate_of"] == report["batch_id"], (path.name, again.output)


def test_no_example_is_a_copy_of_a_demo_file() -> None:
    from demo.load import collect_demo_sets

    demo_files = {d.content for s in collect_demo_sets() for d in s.deliveries}
    copies = [p.name for p in EXAMPLES.iterdir() if p.read_bytes() in demo_files]
    assert copies == []


def test_an_example_that_cannot_run_is_refused_by_name(tmp_path: Path, session: Session) -> None:
    page = tmp_path / "page.md"
    page.write_text("```sh\npg_dump register > backup\n```\n")
    with pytest.raises(AssertionError, match=r"page.md:1: the examples cannot run 'pg_dump'"):
        for block in blocks(page):
            session.run(block)


def test_a_wrong_outcome_fails(tmp_path: Path, session: Session) -> None:
    page = tmp_path / "page.md"
    page.write_text('```sh\ncurl -sS http://127.0.0.1:8000/health\n```\n```json\n{"status": "sick"}\n```\n')
    (block,) = blocks(page)
    with pytest.raises(AssertionError, match=r"expected 'sick', got 'ok'"):
        session.run(block)
