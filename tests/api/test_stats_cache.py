"""The statistics answers are cached per server until the roll-ups change, and never longer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from register import disclosure, stats
from register.stats import query as stats_query
from tests.api.conftest import STATS, WRITE, Token, bearer, vocational_csv
from tests.factories import new_nin

QUERY = "/v1/stats/achievements?group_by=sector,level"


def _upload(client: TestClient, token: Token, fagskole: str, *students: str, prefix: str) -> None:
    response = client.post(
        "/v1/batches?sector=vocational",
        content=vocational_csv(fagskole, *students, rows=2, prefix=prefix),
        headers={**bearer(token(fagskole, WRITE)), "Content-Type": "text/csv"},
    )
    assert response.status_code == 201, response.text


def _persons(client: TestClient, analyst: dict[str, str]) -> int:
    response = client.get(QUERY, headers=analyst)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    [cell] = response.json()["cells"]
    assert cell["perturbed"] is True
    return int(cell["persons"])


def _near(shown: int, true: int) -> bool:
    return abs(shown - true) <= disclosure.COUNT_NOISE


def test_an_answer_is_served_from_the_cache_until_a_refresh(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    analyst = bearer(token(orgs["analyst"], STATS))
    # 8 persons: perturbed by at most 4, so never under the fixture's threshold (3)
    _upload(client, token, orgs["own"], *(new_nin() for _ in range(8)), prefix="A")
    first = _persons(client, analyst)
    assert _near(first, 8)

    # A change behind the register's back, without a refresh: the cached answer stands ...
    with db.begin() as conn:
        conn.execute(text("UPDATE stats_cell SET persons = persons + 100"))
    assert _persons(client, analyst) == first
    # ... and another query is computed afresh, from the table as it is now.
    fresh = client.get("/v1/stats/achievements?group_by=sector", headers=analyst).json()
    assert _near(fresh["cells"][0]["persons"], 108)

    # A refresh (here: the one after the next upload) moves the version; the answer is recomputed.
    _upload(client, token, orgs["own"], new_nin(), prefix="B")
    assert _near(_persons(client, analyst), 109)


def test_the_cache_is_bounded_by_weight() -> None:
    cache = stats.VersionedCache[bytes](max_weight=10, weigh=len)
    cache.put("a", "v1", b"12345")
    cache.put("b", "v1", b"12345")
    cache.get("a", "v1")  # a is now the most recently used
    cache.put("c", "v1", b"123")
    assert (cache.get("a", "v1"), cache.get("b", "v1"), cache.get("c", "v1")) == (b"12345", None, b"123")
    cache.put("huge", "v1", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("huge", "v1") is None
    assert cache.get("a", "v2") is None  # another version: a miss


def test_a_table_computed_on_demand_is_bounded_in_time(
    client: TestClient, token: Token, orgs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst = bearer(token(orgs["analyst"], STATS))
    _upload(client, token, orgs["own"], *(new_nin() for _ in range(8)), prefix="A")
    by_grade = client.get("/v1/stats/achievements?group_by=grade", headers=analyst)
    assert by_grade.status_code == 200 and _near(by_grade.json()["cells"][0]["persons"], 8)

    # The same table made slow (a person-cell scan on a national register), with a short limit:
    original = stats_query.on_demand_select
    monkeypatch.setattr(
        stats_query,
        "on_demand_select",
        lambda kept, **options: original(kept, **options).replace(
            "FROM stats_person_cell", "FROM stats_person_cell, pg_sleep(1)"
        ),
    )
    client.app.state.settings = client.app.state.settings.model_copy(update={"stats_on_demand_seconds": 0.1})
    slow = client.get("/v1/stats/achievements?group_by=nus", headers=analyst)
    assert slow.status_code == 422, slow.text
    assert slow.json()["code"] == "stats.too_expensive"
    assert "sector, year, provider, level, field" in slow.json()["detail"]
    # The kept roll-ups are not affected, and the connection went back to the pool in good order.
    assert _near(_persons(client, analyst), 8)
