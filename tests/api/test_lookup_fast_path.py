"""The look-up's fast path answers exactly what ``PersonOut`` would: same fields, values, types, nesting.

``POST /v1/persons/lookup`` builds its JSON from one statement's rows (``nin_statement`` and
``person_out_document``) instead of views and pydantic models; these tests hold it to
``PersonOut.of(person_view(...)).model_dump(mode="json")`` for every person of the demo (all four sectors,
every grade scale, nested vitnemål and degrees, non-ASCII titles, descriptions and learning outcomes)
and under each filter, and check what the audit row names.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.rest.schemas import PersonOut
from demo.load import load_demo
from register import audit
from register.queries import Selection, person_view
from tests.api.conftest import READ, Token, bearer
from tests.api.rows import Spec, add_achievement, new_batch, new_person
from tests.factories import new_nin

FILTERS: list[dict[str, Any]] = [
    {},
    {"passed_only": True},
    {"sectors": ["primary", "micro"]},
    {"sectors": ["higher"], "passed_only": True},
]


def _typed(value: Any) -> Any:
    """The value with every leaf tagged by its JSON type, so that 1 == 1.0 == True no longer holds."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _expected(db: Engine, person_id: uuid.UUID, filters: dict[str, Any]) -> dict[str, Any]:
    with db.connect() as conn:
        sectors = filters.get("sectors")
        selection = Selection(
            sectors=tuple(sectors) if sectors else None, passed_only=filters.get("passed_only", False)
        )
        view = person_view(conn, person_id, selection)
    assert view is not None
    return PersonOut.of(view).model_dump(mode="json")


def _ids_depth_first(achievements: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for node in achievements:
        found.append(node["id"])
        found.extend(_ids_depth_first(node["parts"]))
    return found


@pytest.fixture
def demo(db: Engine) -> list[tuple[str, uuid.UUID]]:
    load_demo(db)
    with db.connect() as conn:
        return [
            (row.value, row.person_id)
            for row in conn.execute(text("SELECT value, person_id FROM person_identifier ORDER BY value"))
        ]


def test_every_demo_person_gets_exactly_what_person_out_gives(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine, demo: list[tuple[str, uuid.UUID]]
) -> None:
    auth = bearer(token(orgs["portal"], READ))
    sectors_seen: set[str] = set()
    nested = 0
    for n, (nin, person_id) in enumerate(demo):
        # Every person unfiltered; each filter on a share of them (the filters cut the same rows for all).
        for filters in FILTERS if n % 4 == 0 else FILTERS[:1]:
            answer = client.post("/v1/persons/lookup", json={"nin": nin, **filters}, headers=auth)
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/json"
            got = answer.json()
            assert _typed(got) == _typed(_expected(db, person_id, filters)), (n, filters)
            if not filters:
                sectors_seen.update(a["sector"] for a in got["achievements"])
                nested += sum(1 for a in got["achievements"] if a["parts"])
    assert sectors_seen == {"primary", "vocational", "higher", "micro"}
    assert nested > 0
    assert len(demo) > 100


def test_the_audit_row_names_what_was_given_out_depth_first(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine, demo: list[tuple[str, uuid.UUID]]
) -> None:
    nin, person_id = next((nin, pid) for nin, pid in demo if any(a.parts for a in _view_roots(db, pid)))
    answer = client.post(
        "/v1/persons/lookup",
        json={"nin": nin, "passed_only": True},
        headers=bearer(token(orgs["portal"], READ)),
    )
    assert answer.status_code == 200
    with db.connect() as conn:
        details = conn.execute(
            text("SELECT details FROM audit_event WHERE person_id = :p ORDER BY id DESC LIMIT 1"),
            {"p": person_id},
        ).scalar_one()
        view = person_view(conn, person_id, Selection(passed_only=True))
    assert view is not None
    expected_ids = [str(i) for i in view.achievement_ids()]
    assert details["achievement_ids"] == expected_ids == _ids_depth_first(answer.json()["achievements"])
    assert details["count"] == len(expected_ids)
    # Exactly what the body gave besides the number.
    assert details["filters"] == {"passed_only": True}


def _view_roots(db: Engine, person_id: uuid.UUID) -> list[Any]:
    with db.connect() as conn:
        view = person_view(conn, person_id)
    return view.achievements if view else []


def test_a_part_whose_parent_is_filtered_out_comes_up_to_the_top_and_nothing_is_an_empty_list(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    """A failed module with a passed course under it; and a person whose only result is withdrawn."""
    nin, bare_nin = new_nin(), new_nin()
    with db.begin() as conn:
        person = new_person(conn, nin, "Åse", "Ødegård")
        batch = new_batch(conn, orgs["own"])
        module = add_achievement(
            conn, person_id=person, batch_id=batch, provider_orgnr=orgs["own"], spec=Spec("MOD1", kind="module"),
            kind="module", grade=("a-f", "F", False), credits=Decimal("22.5"),
        )  # fmt: skip
        add_achievement(
            conn, person_id=person, batch_id=batch, provider_orgnr=orgs["own"], spec=Spec("C1", eqf_level=6),
            part_of=module, grade=("pass-fail", "bestått", True), credits=None,
        )  # fmt: skip
        bare = new_person(conn, bare_nin, "Ola", None)  # type: ignore[arg-type]
        withdrawn = add_achievement(
            conn, person_id=bare, batch_id=batch, provider_orgnr=orgs["own"], spec=Spec("C2")
        )
        conn.execute(
            text("UPDATE achievement SET status = 'withdrawn', withdrawal_reason = 'feil' WHERE id = :i"),
            {"i": withdrawn},
        )
    auth = bearer(token(orgs["portal"], READ))
    for filters in ({}, {"passed_only": True}, {"sectors": ["vocational"]}):
        got = client.post("/v1/persons/lookup", json={"nin": nin, **filters}, headers=auth).json()
        assert _typed(got) == _typed(_expected(db, person, filters)), filters
    passed = client.post("/v1/persons/lookup", json={"nin": nin, "passed_only": True}, headers=auth).json()
    assert [(a["specification"]["code"], a["parts"]) for a in passed["achievements"]] == [("C1", [])]
    full = client.post("/v1/persons/lookup", json={"nin": nin}, headers=auth).json()
    assert full["achievements"][0]["credits"] == 22.5 and full["achievements"][0]["parts"][0]["grade"] == {
        "scheme": "pass-fail",
        "value": "bestått",
        "as_delivered": "bestått",
        "passed": True,
    }
    empty = client.post("/v1/persons/lookup", json={"nin": bare_nin}, headers=auth)
    assert empty.status_code == 200
    assert _typed(empty.json()) == _typed(_expected(db, bare, {}))
    assert empty.json()["achievements"] == [] and empty.json()["family_name"] is None


def test_an_unknown_number_is_not_found_and_audited_as_a_probe(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    """The one statement finds no row: 404 person.not_found, and one audit row without a person."""
    answer = client.post(
        "/v1/persons/lookup", json={"nin": new_nin()}, headers=bearer(token(orgs["portal"], READ))
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "person.not_found")
    with db.connect() as conn:
        rows = conn.execute(text("SELECT person_id, details FROM audit_event")).all()
    assert [(r.person_id, r.details["outcome"]) for r in rows] == [(None, "not_found")]


def test_no_person_data_when_the_audit_row_cannot_be_written_and_the_connection_recovers(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    """The append and the commit go out together: when the append fails the commit is skipped, nothing is
    stored, the caller gets no person data, and the pooled connection serves the next look-up."""
    nin = new_nin()
    with db.begin() as conn:
        new_person(conn, nin, "Kari", "Nordmann")
        conn.execute(
            text(
                """CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS
                   $$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$;
                   CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_event
                   FOR EACH ROW EXECUTE FUNCTION refuse_audit()"""
            )
        )
    auth = bearer(token(orgs["portal"], READ))
    try:
        for _ in range(3):
            refused = client.post("/v1/persons/lookup", json={"nin": nin}, headers=auth)
            assert (refused.status_code, refused.json()["code"]) == (500, "internal.error")
            assert "Kari" not in refused.text
    finally:
        with db.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse_audit ON audit_event; DROP FUNCTION refuse_audit()"))
    answers = [client.post("/v1/persons/lookup", json={"nin": nin}, headers=auth) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    with db.connect() as conn:
        assert audit.verify_chain(conn) == audit.ChainVerification(True, 3)
