"""Every endpoint × every scope × own/other organisation answers exactly as intended (200/403/404)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from register.synthetic import synthetic_orgnr
from tests.api.conftest import ADMIN, ALL_SCOPES, READ, STATS, WRITE, Token, bearer, vocational_csv
from tests.factories import new_nin


@dataclass
class World:
    batch_id: str
    nin: str
    course_ids: list[str]
    rng: random.Random
    versioned_id: str = ""  # a course whose versions are read (withdrawals take the others one by one)


Call = Callable[[TestClient, dict[str, str], World], httpx.Response]


@dataclass(frozen=True)
class Endpoint:
    name: str
    allowed: frozenset[str]  # scopes that may call it
    success: int
    call: Call
    owned: bool = False  # the resource belongs to one organisation: others (but admins) get 404


def _withdraw(c: TestClient, h: dict[str, str], w: World) -> httpx.Response:
    # Each allowed call withdraws a fresh course, so the expectation does not depend on call order.
    target = w.course_ids.pop() if w.course_ids else "00000000-0000-0000-0000-000000000000"
    return c.post(f"/v1/achievements/{target}/withdrawal", json={"reason": "feilregistrert"}, headers=h)


def _new_org(c: TestClient, h: dict[str, str], w: World) -> httpx.Response:
    body = {"orgnr": synthetic_orgnr(w.rng), "name": "Ny skole", "kind": "school"}
    return c.post("/v1/organisations", json=body, headers=h)


def _code(c: TestClient, h: dict[str, str], w: World, orgnr: str) -> httpx.Response:
    return c.post(
        f"/v1/organisations/{orgnr}/codes", json={"scheme": "nsr", "value": str(w.rng.random())}, headers=h
    )


ENDPOINTS_OWNED = [
    Endpoint(
        "GET batch",
        frozenset({WRITE, ADMIN}),
        200,
        lambda c, h, w: c.get(f"/v1/batches/{w.batch_id}", headers=h),
        True,
    ),
    Endpoint(
        "GET rejections",
        frozenset({WRITE, ADMIN}),
        200,
        lambda c, h, w: c.get(f"/v1/batches/{w.batch_id}/rejections", headers=h),
        True,
    ),
    Endpoint("POST withdrawal", frozenset({WRITE}), 200, _withdraw, True),
]


def _endpoints(orgs: dict[str, str]) -> list[Endpoint]:
    upload_body = vocational_csv(orgs["own"], new_nin(901), prefix="MATRIX")
    return [
        *ENDPOINTS_OWNED,
        Endpoint(
            "GET batches", frozenset({WRITE, ADMIN}), 200, lambda c, h, w: c.get("/v1/batches", headers=h)
        ),
        Endpoint(
            "POST batches",
            frozenset({WRITE}),
            201,
            # Uploaded by whoever calls; rows for another fagskole are rejected, but the upload is accepted.
            lambda c, h, w: c.post(
                "/v1/batches?sector=vocational",
                content=upload_body,
                headers={**h, "Content-Type": "text/csv"},
            ),
        ),
        Endpoint(
            "POST lookup",
            frozenset({READ}),
            200,
            lambda c, h, w: c.post("/v1/persons/lookup", json={"nin": w.nin}, headers=h),
        ),
        Endpoint(
            "POST elmo",
            frozenset({READ}),
            200,
            lambda c, h, w: c.post("/v1/persons/elmo", json={"nin": w.nin}, headers=h),
        ),
        Endpoint(
            "GET versions",
            frozenset({READ}),
            200,
            lambda c, h, w: c.get(f"/v1/achievements/{w.versioned_id}/versions", headers=h),
        ),
        Endpoint(
            "GET stats",
            frozenset({STATS}),
            200,
            lambda c, h, w: c.get("/v1/stats/achievements?group_by=year", headers=h),
        ),
        Endpoint(
            "GET stats contents",
            frozenset({STATS}),
            200,
            lambda c, h, w: c.get("/v1/stats", headers=h),
        ),
        Endpoint(
            "GET stats dimension",
            frozenset({STATS}),
            200,
            lambda c, h, w: c.get("/v1/stats/dimensions/provider", headers=h),
        ),
        Endpoint(
            "GET organisations",
            frozenset({ADMIN}),
            200,
            lambda c, h, w: c.get("/v1/organisations", headers=h),
        ),
        Endpoint("POST organisations", frozenset({ADMIN}), 201, _new_org),
        Endpoint(
            "GET organisation",
            frozenset({ADMIN}),
            200,
            lambda c, h, w: c.get(f"/v1/organisations/{orgs['own']}", headers=h),
        ),
        Endpoint("POST codes", frozenset({ADMIN}), 200, lambda c, h, w: _code(c, h, w, orgs["own"])),
        Endpoint(
            "POST delivers-for",
            frozenset({ADMIN}),
            200,
            lambda c, h, w: c.post(
                f"/v1/organisations/{orgs['own']}/delivers-for", json={"orgnr": orgs["other"]}, headers=h
            ),
        ),
        Endpoint("GET audit", frozenset({ADMIN}), 200, lambda c, h, w: c.get("/v1/audit", headers=h)),
        Endpoint(
            "POST person-accesses",
            frozenset({ADMIN}),
            200,
            lambda c, h, w: c.post("/v1/audit/person-accesses", json={"nin": w.nin}, headers=h),
        ),
    ]


@pytest.fixture
def world(client: TestClient, token: Token, orgs: dict[str, str], db: Engine) -> World:
    nin = new_nin(900)
    upload = client.post(
        "/v1/batches?sector=vocational",
        content=vocational_csv(orgs["own"], nin, rows=4),
        headers={**bearer(token(orgs["own"], WRITE)), "Content-Type": "text/csv"},
    )
    assert upload.status_code == 201, upload.text
    with db.connect() as conn:
        courses = (
            conn.execute(text("SELECT id::text FROM achievement WHERE kind = 'course_result'"))
            .scalars()
            .all()
        )
    return World(
        batch_id=upload.json()["batch_id"],
        nin=nin,
        course_ids=list(courses[1:]),
        rng=random.Random(5),
        versioned_id=courses[0],
    )


def test_access_matrix(client: TestClient, token: Token, orgs: dict[str, str], world: World) -> None:
    seen: list[tuple[str, str, str, int]] = []
    for endpoint, scope, who in itertools.product(_endpoints(orgs), ALL_SCOPES, ("own", "other")):
        response = endpoint.call(client, bearer(token(orgs[who], scope)), world)
        if scope not in endpoint.allowed:
            expected = 403
        elif endpoint.owned and who == "other" and scope != ADMIN:
            expected = 404
        else:
            expected = endpoint.success
        seen.append((endpoint.name, scope, who, response.status_code))
        assert response.status_code == expected, (endpoint.name, scope, who, response.text)
        if expected >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] in {
                "auth.missing_scope",
                "batch.not_found",
                "achievement.not_found",
            }
    assert len(seen) == len(_endpoints(orgs)) * len(ALL_SCOPES) * 2


def test_other_organisations_batches_are_not_listed(
    client: TestClient, token: Token, orgs: dict[str, str], world: World
) -> None:
    own = client.get("/v1/batches", headers=bearer(token(orgs["own"], WRITE))).json()["items"]
    other = client.get("/v1/batches", headers=bearer(token(orgs["other"], WRITE))).json()["items"]
    admin = client.get("/v1/batches", headers=bearer(token(orgs["portal"], ADMIN))).json()["items"]
    assert [b["id"] for b in own] == [world.batch_id]
    assert other == []
    assert [b["id"] for b in admin] == [world.batch_id]


def test_an_upload_for_a_school_one_does_not_deliver_for_is_rejected_per_record(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    # The other fagskole uploads rows naming the first one as awarding organisation.
    upload = client.post(
        "/v1/batches?sector=vocational",
        content=vocational_csv(orgs["own"], new_nin(77), rows=2),
        headers={**bearer(token(orgs["other"], WRITE)), "Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    report: dict[str, Any] = upload.json()
    assert report["accepted"] == 0 and report["rejected"] == 3
    assert {e["code"] for e in report["errors"]} == {"organisation.not_authorised"}
