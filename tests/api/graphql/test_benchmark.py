"""The GraphQL-vs-REST benchmark at smoke size: it runs, both sides answer without errors, the same data
is checked, and the result is the JSON the full run prints."""

from __future__ import annotations

import json
import random

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from benchmarks import graphql_vs_rest
from tests.api.conftest import READ, Token

pytestmark = pytest.mark.bench


def test_run_compares_the_same_data_through_both_apis(
    app: FastAPI, db: Engine, token: Token, portal: str
) -> None:
    seeded = graphql_vs_rest.seed(db, persons=2, courses=10, organisations=2, rng=random.Random(5))
    result = graphql_vs_rest.run(
        app, seeded.nins, token(portal, READ), requests=8, concurrency=2, rounds=2, warmup=2
    )
    assert result["achievements_per_person"] == seeded.achievements_per_person == 12
    for side in ("rest", "graphql"):
        assert result[side]["requests"] == 8 and result[side]["errors"] == 0
        assert result[side]["rps"] > 0 and result[side]["cpu_ms_per_request"] > 0
    assert result["ratio"] == pytest.approx(result["graphql"]["rps"] / result["rest"]["rps"], rel=0.01)
    json.dumps(result)


def test_the_command_prints_one_json_object(
    server_admin_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BENCH_ADMIN_URL", server_admin_url)
    code = graphql_vs_rest.main(
        ["--persons", "1", "--courses", "4", "--organisations", "2", "--requests", "4", "--concurrency", "1"]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["benchmark"] == "graphql_vs_rest" and printed["achievements_per_person"] == 6
    assert printed["rest"]["errors"] == printed["graphql"]["errors"] == 0
    assert printed["ratio"] > 0
