"""A query parameter given more than once: a set of values for the statistics' filters, a clear 422
everywhere else — never the last value silently."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, STATS, WRITE, Token, bearer, vocational_csv
from tests.factories import new_nin


def _deliver_two_years(client: TestClient, token: Token, orgs: dict[str, str]) -> None:
    headers = {**bearer(token(orgs["own"], WRITE)), "Content-Type": "text/csv"}
    for year, seed in (("2024", 600), ("2025", 700)):
        body = vocational_csv(orgs["own"], *[new_nin(seed + i) for i in range(6)], prefix=f"Y{year}")
        body = body.replace(b"2024-06-1", f"{year}-06-1".encode()).replace(b"2024V", f"{year}V".encode())
        body = body.replace(b"2025-06-16", f"{year}-06-16".encode())
        response = client.post("/v1/batches?sector=vocational", content=body, headers=headers)
        assert response.json()["accepted"] == 24, response.text


def _stats(client: TestClient, token: Token, orgs: dict[str, str], query: str) -> Any:
    response = client.get(f"/v1/stats/achievements?{query}", headers=bearer(token(orgs["analyst"], STATS)))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_repeated_stats_filter_is_a_set_each_value_its_own_cells(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    _deliver_two_years(client, token, orgs)
    # A filter of several values is grouped by, too: each value its own cells, never a new sum.
    sectors = _stats(client, token, orgs, "group_by=year&sector=vocational&sector=higher")
    assert sectors["group_by"] == ["year", "sector"]  # asked for first, then the filter of several
    assert {c["sector"] for c in sectors["cells"]} == {"vocational"}  # no higher results delivered
    # Years are the exception (docs/statistics.md): several years, repeated or as a set or range, are
    # one population whose persons are counted once; grouped by year, each year is its own cells.
    per_year = [_stats(client, token, orgs, f"group_by=sector&year={y}")["cells"] for y in (2024, 2025)]
    grouped = _stats(client, token, orgs, "group_by=sector,year&year=2024&year=2025")
    assert [c["year"] for c in grouped["cells"]] == [2024, 2025]
    for cell, (alone,) in zip(grouped["cells"], per_year, strict=True):
        assert {k: cell[k] for k in ("achievements", "persons", "credits")} == {
            k: alone[k] for k in ("achievements", "persons", "credits")
        }
    repeated = _stats(client, token, orgs, "group_by=sector&year=2024&year=2025")
    assert repeated["group_by"] == ["sector"] and repeated["filters"]["year"] == [2024, 2025]
    assert repeated["cells"] == _stats(client, token, orgs, "group_by=sector&year=2024-2025")["cells"]
    once = _stats(client, token, orgs, "group_by=sector&year=2024&year=2024&sector=vocational")
    assert once["filters"]["year"] == 2024 and once["cells"] == per_year[0]  # a value twice is once
    bad = client.get(
        "/v1/stats/achievements?year=2024&year=1066", headers=bearer(token(orgs["analyst"], STATS))
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "stats.year_filter")  # each value checked


def test_repetition_is_refused_where_one_value_is_taken(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    write = bearer(token(orgs["own"], WRITE))
    cases = [
        ("get", "/v1/batches?limit=1&limit=50", write, ["limit"]),
        ("get", "/v1/stats/achievements?group_by=year&group_by=sector", bearer(token(orgs["analyst"], STATS)),
         ["group_by"]),
        ("post", "/v1/batches?sector=vocational&sector=higher&dry_run=true&dry_run=false", write,
         ["dry_run", "sector"]),
        ("get", "/v1/audit?action=a&action=b", bearer(token(orgs["portal"], ADMIN)), ["action"]),
    ]  # fmt: skip
    for method, url, headers, names in cases:
        response = getattr(client, method)(url, headers=headers)
        problem = response.json()
        assert (response.status_code, problem["code"], problem["parameters"]) == (
            422, "request.repeated_parameter", names,
        ), url  # fmt: skip
        assert f"the query parameter {', '.join(names)} is given more than once" in problem["detail"]
    # Parameters given once each, several of them: untouched.
    assert client.get("/v1/batches?limit=1&cursor=", headers=write).status_code == 200
