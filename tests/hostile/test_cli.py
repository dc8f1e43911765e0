"""The file cases of the hostile corpus through ``register import``: the same clear refusal as over HTTP —
exit 2 with one line naming the code for a refused file, exit 1 with every record rejected and its code
for refused records — never a traceback, and nothing of the file in the register."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cli.main import app
from register.database import get_engine
from tests.hostile.corpus import CASES, Case, Ctx

pytestmark = pytest.mark.slow

FILE_CASES = [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=c.xfail)) if c.xfail else c
    for c in CASES
    if c.id.split("-")[0] in {"xml", "gzip", "json", "csv"}
]


@pytest.fixture
def cli(ctx: Ctx) -> Iterator[CliRunner]:
    get_engine.cache_clear()  # the CLI's engine must point at the test database (set in the env)
    yield CliRunner()
    get_engine().dispose()
    get_engine.cache_clear()


def _achievements(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM achievement")).scalar_one())


@pytest.mark.parametrize("case", FILE_CASES, ids=str)
def test_a_hostile_file_is_refused_clearly_by_the_cli(
    case: Case, ctx: Ctx, cli: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    request = case.build(ctx)
    content = b"".join(request.content()) if callable(request.content) else request.content
    assert isinstance(content, bytes)
    delivery = tmp_path / "delivery"
    delivery.write_bytes(content)
    before = _achievements(engine)
    result = cli.invoke(
        app, ["import", str(delivery), "--sector", request.params["sector"], "--provider", ctx.provider]
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output and ctx.nin not in output
    if case.rejections:
        assert result.exit_code == 1, output
        assert " 0 accepted" in result.stdout
        codes = {
            line.rsplit("[", 1)[1].rstrip("]") for line in result.stdout.splitlines() if "rejected " in line
        }
        assert codes and (codes <= case.codes if case.codes else all("." in c for c in codes)), output
    else:
        assert result.exit_code == 2, output
        assert (
            any(f"[{code}]" in result.stderr for code in case.codes)
            if case.codes
            else "internal error" not in output
        ), output
    assert _achievements(engine) == before
