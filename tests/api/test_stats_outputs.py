"""Every output of a statistics query tells the same numbers: JSON, JSON-stat 2.0 and both CSV variants.

The JSON-stat answers are checked by an independent validator (``jsonstat-validator``) and read back by
an independent reader (``pyjstat``); the CSV answers by Python's csv module. Each must give the numbers
of the JSON answer, cell for cell, with suppressed cells null/empty and marked.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonstat_validator import validate_jsonstat
from pyjstat import pyjstat
from sqlalchemy import Engine

from register.stats.outputs import PERTURBED, SUPPRESSED
from tests.api.conftest import STATS, Token, bearer
from tests.api.rows import Spec, add_achievement, finish_batch, new_batch, new_person
from tests.factories import create_organisation

MEASURES = ("persons", "achievements", "credits_ects", "credits_fagskolepoeng", "credits_hours")
TABLES = ("sector", "sector,year", "provider,level", "grade", "year,field,level", "")


@pytest.fixture
def population(db: Engine) -> dict[str, str]:
    """About 300 results of 90 persons: common cells and rare ones (suppressed), credits with halves."""
    rng = random.Random(19)
    orgs = {
        "uni": create_organisation(db, name="Universitetet i Sørøst", kind="university"),
        "hog": create_organisation(db, name="Høgskolen på Vestlandet", kind="university"),
        "fag": create_organisation(db, name="Fagskolen i Nord", kind="fagskole"),
    }
    specs = {
        "higher": [Spec("INF100", iscedf_code="0613"), Spec("MAT100", iscedf_code="0541", nkr_level="7")],
        "vocational": [Spec("EL1", iscedf_code="0713", nkr_level="5.1")],
    }
    with db.begin() as conn:
        batch = new_batch(conn, orgs["uni"])
        for _ in range(90):
            person = new_person(conn)
            for _ in range(rng.choice([1, 2, 3, 4, 5])):
                sector = rng.choices(["higher", "vocational"], weights=[85, 15])[0]
                org = (
                    orgs["fag"] if sector == "vocational" else orgs[rng.choices(["uni", "hog"], [80, 20])[0]]
                )
                add_achievement(
                    conn,
                    person_id=person,
                    batch_id=batch,
                    provider_orgnr=org,
                    spec=rng.choice(specs[sector]),
                    sector=sector,
                    year=rng.choices([2023, 2024, None], weights=[45, 50, 5])[0],
                    grade=rng.choices(
                        [("a-f", "A", True), ("a-f", "C", True), ("a-f", "F", False)], [30, 65, 5]
                    )[0],
                    credits=Decimal(rng.choice(["7.5", "10", "15"])),
                    credit_scheme="fagskolepoeng" if sector == "vocational" else "ects",
                )
        for _ in range(2):  # a rare grade: a suppressed cell in every table by grade
            add_achievement(
                conn,
                person_id=new_person(conn),
                batch_id=batch,
                provider_orgnr=orgs["fag"],
                spec=specs["vocational"][0],
                sector="vocational",
                year=2024,
                grade=("pass-fail", "bestått", True),
                credits=Decimal("2.5"),
                credit_scheme="fagskolepoeng",
            )
        finish_batch(conn, batch)
    return orgs


def _code(dimension: str, value: Any) -> str:
    if value is None:
        return "_"
    if dimension == "provider":
        return value["orgnr"]
    if dimension == "grade":
        return f"{value['scheme']}:{value['value']}"
    return str(value)


def _json_cells(answer: dict[str, Any], dims: list[str]) -> dict[tuple[str, ...], dict[str, Any]]:
    cells = {}
    for cell in answer["cells"]:
        key = tuple(_code(d, cell[d]) for d in dims)
        credits = cell["credits"]
        cells[key] = {
            "persons": cell["persons"],
            "achievements": cell["achievements"],
            **{
                m: None if credits is None else credits.get(m.removeprefix("credits_"), 0)
                for m in MEASURES[2:]
            },
            "status": SUPPRESSED if cell["suppressed"] else PERTURBED,
        }
    return cells


def _get(client: TestClient, headers: dict[str, str], group_by: str, **params: str) -> Any:
    response = client.get("/v1/stats/achievements", params={"group_by": group_by, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response


def _from_pyjstat(document: dict[str, Any], dims: list[str]) -> dict[tuple[str, ...], dict[str, Any]]:
    frame = pyjstat.Dataset.read(json.dumps(document)).write("dataframe", naming="id")
    status = document["status"]
    cells: dict[tuple[str, ...], dict[str, Any]] = {}
    for position, row in enumerate(frame.itertuples(index=False)):
        key = tuple(str(getattr(row, d)) for d in dims)
        value = row.value
        entry = cells.setdefault(key, {})
        entry[row.measure] = (
            None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        )
        if str(position) in status:
            entry["status"] = status[str(position)]
    return {k: v for k, v in cells.items() if "status" in v}  # combinations no one has carry no status


def _from_csv(body: bytes, variant: str, dims: list[str]) -> dict[tuple[str, ...], dict[str, Any]]:
    text = body.decode("utf-8")
    if variant == "nb":
        assert text.startswith("\ufeff"), "the Norwegian variant starts with a byte order mark (for Excel)"
        text = text[1:]
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if variant == "nb" else ","))
    header, data = rows[0], rows[1:]
    assert len(header) == 2 * len(dims) + len(MEASURES) + 1
    cells = {}
    for row in data:
        key = tuple(row[2 * i] or "_" for i in range(len(dims)))
        figures = row[2 * len(dims) : -1]
        entry: dict[str, Any] = {"status": row[-1]}
        for measure, raw in zip(MEASURES, figures, strict=True):
            if variant == "nb":
                assert "." not in raw, f"decimal comma in the Norwegian variant: {raw}"
            entry[measure] = None if raw == "" else float(raw.replace(",", "."))
        cells[key] = entry
    return cells


def _same(a: dict[tuple[str, ...], dict[str, Any]], b: dict[tuple[str, ...], dict[str, Any]]) -> None:
    assert set(a) == set(b)
    for key in a:
        for field in (*MEASURES, "status"):
            x, y = a[key][field], b[key][field]
            if field == "status" or x is None or y is None:
                assert x == y, (key, field, x, y)
            else:
                assert float(x) == pytest.approx(float(y)), (key, field, x, y)


@pytest.mark.parametrize("group_by", TABLES)
def test_json_stat_and_csv_give_the_numbers_of_the_json_answer(
    client: TestClient, token: Token, population: dict[str, str], group_by: str
) -> None:
    headers = bearer(token(population["uni"], STATS))
    dims = [d for d in group_by.split(",") if d]
    answer = _get(client, headers, group_by).json()
    expected = _json_cells(answer, dims)
    assert expected, "the table has cells"

    document = _get(client, headers, group_by, format="json-stat").json()
    assert validate_jsonstat(document) is True
    assert document["class"] == "dataset" and document["version"] == "2.0"
    assert document["id"] == [*dims, "measure"]
    assert document["note"] == [answer["disclosure_control"]]
    if "year" in dims:
        assert document["role"]["time"] == ["year"]
    _same(_from_pyjstat(document, dims), expected)

    for variant in ("nb", "en"):
        response = _get(client, headers, group_by, format=f"csv-{variant}")
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        _same(_from_csv(response.content, variant, dims), expected)


def test_the_population_has_suppressed_and_fractional_cells(
    client: TestClient, token: Token, population: dict[str, str]
) -> None:
    """The comparisons above would prove little on tables without nulls or decimals. Whether a shown
    sum of credits has a half is the perturbation's (register.disclosure: a cell's noise is drawn from
    its key, a hash of random ids), so about one in two: asked of the cells of all the tables compared
    (dozens), not of one table's few, where it failed once in a while."""
    headers = bearer(token(population["uni"], STATS))
    cells = _get(client, headers, "grade").json()["cells"]
    assert any(c["suppressed"] for c in cells) and any(not c["suppressed"] for c in cells)
    credits = [
        value
        for group_by in TABLES
        for cell in _get(client, headers, group_by).json()["cells"]
        if cell["credits"]
        for value in cell["credits"].values()
    ]
    assert len(credits) >= 20
    assert any(value != int(value) for value in credits)


def test_labels_in_both_languages(client: TestClient, token: Token, population: dict[str, str]) -> None:
    headers = bearer(token(population["uni"], STATS))
    nb = _get(client, headers, "sector,level", format="json-stat", lang="nb").json()
    en = _get(client, headers, "sector,level", format="json-stat").json()
    assert nb["dimension"]["sector"]["category"]["label"]["higher"] == "universiteter og høgskoler"
    assert en["dimension"]["sector"]["category"]["label"]["higher"] == "universities and university colleges"
    assert en["dimension"]["level"]["category"]["label"]["5.1"].startswith("NKR 5.1")
    assert nb["dimension"]["sector"]["label"] == "sektor"
    header = _get(client, headers, "sector", format="csv-nb").content.decode()[1:].splitlines()[0]
    assert header == "sektor;sektor_navn;personer;resultater;studiepoeng;fagskolepoeng;timer;status"


@pytest.mark.parametrize(
    ("accept", "language", "expected"),
    [
        ("application/json", None, "json"),
        ("application/json-stat+json", None, "json-stat"),
        ("text/csv", None, "csv-en"),
        ("text/csv", "nb-NO,nb;q=0.9,en;q=0.5", "csv-nb"),
        ("text/csv;q=0.4, application/json-stat+json;q=0.8", None, "json-stat"),
        ("image/png", None, "json"),
    ],
)
def test_the_output_is_chosen_by_accept(
    client: TestClient,
    token: Token,
    population: dict[str, str],
    accept: str,
    language: str | None,
    expected: str,
) -> None:
    headers = {**bearer(token(population["uni"], STATS)), "Accept": accept}
    if language:
        headers["Accept-Language"] = language
    response = _get(client, headers, "sector")
    assert "Accept" in response.headers["vary"]
    body = response.content
    if expected == "json":
        assert "cells" in response.json()
    elif expected == "json-stat":
        assert response.json()["class"] == "dataset"
    else:
        assert (
            body.startswith(b"\xef\xbb\xbfsektor;") if expected == "csv-nb" else body.startswith(b"sector,")
        )
    # format= wins over Accept
    assert _get(client, headers, "sector", format="csv-en").content.startswith(b"sector,")


def test_graphql_gives_the_same_documents(
    client: TestClient, token: Token, population: dict[str, str]
) -> None:
    headers = bearer(token(population["uni"], STATS))
    query = """query($f: StatsFormat!, $lang: StatsLanguage) {
                 statsTable(groupBy: [SECTOR, YEAR], format: $f, lang: $lang) }"""
    for fmt, params in (
        ("JSON_STAT", {"format": "json-stat", "lang": "nb"}),
        ("CSV_NB", {"format": "csv-nb"}),
    ):
        response = client.post(
            "/graphql", json={"query": query, "variables": {"f": fmt, "lang": "NB"}}, headers=headers
        )
        assert response.status_code == 200, response.text
        document = response.json()["data"]["statsTable"]
        assert document == _get(client, headers, "sector,year", **params).content.decode()
