"""Look-ups: nesting and filters, what unknown and malformed numbers reveal, audit rows, logs."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from register.queries import person_view
from tests.api.conftest import ADMIN, READ, STATS, WRITE, Token, bearer
from tests.api.rows import Spec, add_achievement, new_batch, new_person
from tests.factories import new_nin


@pytest.fixture
def kari(db: Engine, orgs: dict[str, str]) -> str:
    """A person with a degree of two courses (one failed) in higher education and a vocational result."""
    nin = new_nin(11)
    with db.begin() as conn:
        person = new_person(conn, nin, "Kari", "Nordmann")
        batch = new_batch(conn, orgs["own"])
        degree = add_achievement(
            conn,
            person_id=person,
            batch_id=batch,
            provider_orgnr=orgs["own"],
            spec=Spec("BIT", kind="qualification"),
            kind="degree",
            grade=None,
            credits=None,
        )
        for code, grade in (("INF100", ("a-f", "A", True)), ("INF200", ("a-f", "F", False))):
            add_achievement(
                conn,
                person_id=person,
                batch_id=batch,
                provider_orgnr=orgs["own"],
                spec=Spec(code),
                part_of=degree,
                grade=grade,
            )
        add_achievement(
            conn,
            person_id=person,
            batch_id=batch,
            provider_orgnr=orgs["own"],
            spec=Spec("EL-1", nkr_level="5.1"),
            sector="vocational",
            credits=Decimal("7.5"),
            credit_scheme="fagskolepoeng",
        )
    return nin


def _lookup(client: TestClient, token: Token, org: str, body: dict, scope: str = READ):
    return client.post("/v1/persons/lookup", json=body, headers=bearer(token(org, scope)))


def test_lookup_nests_and_filters(client: TestClient, token: Token, orgs: dict[str, str], kari: str) -> None:
    full = _lookup(client, token, orgs["portal"], {"nin": kari}).json()
    assert (full["given_name"], full["family_name"]) == ("Kari", "Nordmann")
    assert kari not in str(full)
    degree, vocational = full["achievements"]
    assert degree["kind"] == "degree" and [p["specification"]["code"] for p in degree["parts"]] == [
        "INF100",
        "INF200",
    ]
    assert vocational["credits"] == 7.5 and vocational["credit_scheme"] == "fagskolepoeng"

    passed = _lookup(client, token, orgs["portal"], {"nin": kari, "passed_only": True}).json()
    assert [p["specification"]["code"] for p in passed["achievements"][0]["parts"]] == ["INF100"]
    only_vocational = _lookup(client, token, orgs["portal"], {"nin": kari, "sectors": ["vocational"]}).json()
    assert [a["specification"]["code"] for a in only_vocational["achievements"]] == ["EL-1"]


def test_withdrawn_results_are_not_given_out(
    client: TestClient, token: Token, orgs: dict[str, str], kari: str, db: Engine
) -> None:
    with db.connect() as conn:
        inf200 = conn.execute(
            text(
                """SELECT a.id FROM achievement a JOIN learning_specification s ON s.id = a.specification_id
                   WHERE s.code = 'INF200'"""
            )
        ).scalar_one()
    withdrawn = client.post(
        f"/v1/achievements/{inf200}/withdrawal",
        json={"reason": "registrert på feil student"},
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["version"] == 2
    again = client.post(
        f"/v1/achievements/{inf200}/withdrawal",
        json={"reason": "x"},
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert (again.status_code, again.json()["code"]) == (409, "achievement.already_withdrawn")
    found = _lookup(client, token, orgs["portal"], {"nin": kari}).json()
    assert [p["specification"]["code"] for p in found["achievements"][0]["parts"]] == ["INF100"]
    with db.connect() as conn:
        history = conn.execute(
            text("SELECT version, status FROM achievement_version WHERE achievement_id = :id"), {"id": inf200}
        ).all()
    assert [tuple(h) for h in history] == [(1, "valid")]


def test_unknown_and_malformed_numbers(client: TestClient, token: Token, orgs: dict[str, str]) -> None:
    unknown = _lookup(client, token, orgs["portal"], {"nin": new_nin(12345)})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "person.not_found")
    malformed = _lookup(client, token, orgs["portal"], {"nin": "12345678901"})
    assert malformed.status_code == 422 and malformed.json()["code"].startswith("nin.")
    assert "12345678901" not in malformed.text and new_nin(12345) not in unknown.text


def test_without_read_scope_existence_is_not_revealed(
    client: TestClient, token: Token, orgs: dict[str, str], kari: str
) -> None:
    answers = set()
    for nin in (kari, new_nin(999), "12345678901", "not-a-number"):
        for scope in (WRITE, STATS, ADMIN):
            response = _lookup(client, token, orgs["portal"], {"nin": nin}, scope=scope)
            answers.add((response.status_code, response.json()["code"]))
    assert answers == {(403, "auth.missing_scope")}


def test_each_lookup_is_audited_and_the_number_never_logged(
    client: TestClient,
    token: Token,
    orgs: dict[str, str],
    kari: str,
    db: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        assert _lookup(client, token, orgs["portal"], {"nin": kari}).status_code == 200
    assert _lookup(client, token, orgs["portal"], {"nin": kari + "0"}).status_code == 422
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT action, client_id, organisation, scope, request_id, person_id, details FROM audit_event"
            )
        ).all()
        person_id = conn.execute(
            text("SELECT person_id FROM person_identifier WHERE value = :v"), {"v": kari}
        ).scalar()
        view = person_view(conn, person_id)
    assert len(rows) == 2  # the refused look-up gave nothing out
    for row in rows:
        assert (row.action, row.organisation, row.scope) == ("persons.lookup", orgs["portal"], READ)
        assert row.client_id == f"client-{orgs['portal']}" and row.request_id and row.person_id == person_id
        assert view is not None and row.details["achievement_ids"] == [str(i) for i in view.achievement_ids()]
    access = [r.getMessage() for r in caplog.records if r.name == "api.access"]
    assert len(access) == 3 and access[0].startswith("POST /v1/persons/lookup 200 ")
    assert kari not in caplog.text


def test_request_ids_come_back_and_are_audited(
    client: TestClient, token: Token, orgs: dict[str, str], kari: str, db: Engine
) -> None:
    response = client.post(
        "/v1/persons/lookup",
        json={"nin": kari},
        headers={**bearer(token(orgs["portal"], READ)), "X-Request-ID": "req-42"},
    )
    assert response.headers["x-request-id"] == "req-42"
    with db.connect() as conn:
        assert conn.execute(text("SELECT request_id FROM audit_event")).scalar_one() == "req-42"
    hostile = client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert hostile.headers["x-request-id"] != "x" * 500


def test_validation_errors_do_not_echo_the_body(
    client: TestClient, token: Token, orgs: dict[str, str], kari: str
) -> None:
    response = _lookup(client, token, orgs["portal"], {"nin": kari, "passed_only": "maybe", "extra": kari})
    assert response.status_code == 422 and response.json()["code"] == "request.invalid"
    assert kari not in response.text
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("body", "passed_only"),
        ("body", "extra"),
    }


def test_server_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    from api.logs import install_access_log_redaction

    install_access_log_redaction()
    log = logging.getLogger("uvicorn.error")
    nin = new_nin(31)
    try:
        raise RuntimeError(f"[parameters: {{'v': '{nin}'}}]")
    except RuntimeError:
        log.exception("Exception in ASGI application %s", nin)
    assert caplog.records and nin not in caplog.text
    assert "[redacted]" in caplog.text and "RuntimeError" in caplog.text


def test_oversized_json_bodies_are_refused_unread(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    headers = {**bearer(token(orgs["portal"], READ)), "Content-Type": "application/json"}
    big = b'{"nin": "' + b"1" * 100_000 + b'"}'
    declared = client.post("/v1/persons/lookup", content=big, headers=headers)
    streamed = client.post("/v1/persons/lookup", content=iter([big[:50_000], big[50_000:]]), headers=headers)
    for response in (declared, streamed):
        assert (response.status_code, response.json()["code"]) == (413, "request.too_large")
        assert (
            response.headers["content-type"] == "application/problem+json"
            and response.headers["x-request-id"]
        )
    small = client.post("/v1/persons/lookup", content=iter([b'{"nin": ', b'"12345678901"}']), headers=headers)
    assert small.status_code == 422 and small.json()["code"] == "nin.date_part"  # read whole, then judged


def test_a_number_put_in_the_url_does_not_come_back(
    client: TestClient, token: Token, orgs: dict[str, str], kari: str
) -> None:
    response = client.get(f"/v1/persons/{kari}?nin={kari}", headers=bearer(token(orgs["portal"], READ)))
    assert (response.status_code, response.json()["code"]) == (404, "route.not_found")
    assert kari not in response.text
