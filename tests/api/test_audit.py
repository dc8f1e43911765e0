"""The audit chain holds and tells tampering; who looked at a person; the admin listing."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from register import audit
from tests.api.conftest import ADMIN, READ, Token, bearer
from tests.api.rows import new_person
from tests.factories import new_nin


def _events(db: Engine, n: int, person_id: uuid.UUID | None = None) -> list[int]:
    """n reads of one person's data: one chain, so the rows follow each other in it."""
    person_id = person_id or uuid.uuid4()
    ids = []
    with db.begin() as conn:
        for i in range(n):
            ids.append(
                audit.record_read(
                    conn,
                    person_id=person_id,
                    action="persons.lookup",
                    client_id="c",
                    organisation="910000004",
                    scope=READ,
                    request_id=f"r{i}",
                    details={"count": i, "achievement_ids": [str(uuid.uuid4())]},
                )
            )
    return ids


def test_the_chain_verifies_and_each_kind_of_tampering_is_found(db: Engine) -> None:
    ids = _events(db, 6)
    with db.connect() as conn:
        assert audit.verify_chain(conn) == audit.ChainVerification(True, 6)
    tamperings = [
        ("UPDATE audit_event SET details = '{\"count\": 99}' WHERE id = :id", "hash does not match"),
        ("UPDATE audit_event SET organisation = '999999999' WHERE id = :id", "hash does not match"),
        ("DELETE FROM audit_event WHERE id = :id", "prev_hash does not match"),
    ]
    for statement, reason in tamperings:
        with db.connect() as conn:
            transaction = conn.begin()
            conn.execute(text(statement), {"id": ids[3]})
            result = audit.verify_chain(conn, batch_rows=2)
            transaction.rollback()
        assert not result.ok and result.reason is not None and reason in result.reason
        assert result.broken_at == (ids[3] if "UPDATE" in statement else ids[4])
        assert result.checked == 3


def test_reads_of_different_people_go_to_parallel_chains_that_all_verify(db: Engine) -> None:
    people = [uuid.uuid4() for _ in range(40)]
    for person in people:
        _events(db, 2, person)
    with db.connect() as conn:
        chains = conn.execute(text("SELECT count(DISTINCT chain) FROM audit_event")).scalar_one()
        assert chains > 10  # 40 people over 63 chains
        assert audit.verify_chain(conn) == audit.ChainVerification(True, 80)
        # Every read of one person is in one chain, linked in id order.
        rows = conn.execute(
            text("SELECT chain, prev_hash, hash FROM audit_event WHERE person_id = :p ORDER BY id"),
            {"p": people[0]},
        ).all()
    assert rows[0].chain == rows[1].chain == audit.chain_of(people[0])
    assert rows[1].prev_hash == rows[0].hash


def test_who_looked_at_a_person(client: TestClient, token: Token, orgs: dict[str, str], db: Engine) -> None:
    nin = new_nin(5)
    with db.begin() as conn:
        person = new_person(conn, nin)
    for org in (orgs["portal"], orgs["analyst"]):
        assert (
            client.post("/v1/persons/lookup", json={"nin": nin}, headers=bearer(token(org, READ))).status_code
            == 200
        )
    _events(db, 2)  # other people's events
    with db.connect() as conn:
        accesses = audit.accesses_to_person(conn, person)
    assert [a.organisation for a in accesses] == [orgs["analyst"], orgs["portal"]]  # newest first
    assert accesses[0].organisation_name == "Statistikkbyrå" and accesses[0].action == "persons.lookup"

    admin = bearer(token(orgs["portal"], ADMIN))
    over_http = client.post("/v1/audit/person-accesses", json={"nin": nin}, headers=admin)
    assert over_http.status_code == 200
    assert [a["organisation"] for a in over_http.json()] == [orgs["analyst"], orgs["portal"]]

    listed = client.get(f"/v1/audit?person_id={person}&limit=1", headers=admin).json()
    assert len(listed["items"]) == 1 and listed["next_before_id"] is not None
    rest = client.get(
        f"/v1/audit?person_id={person}&before_id={listed['next_before_id']}", headers=admin
    ).json()
    # the person-accesses read above is on the trail too, and so are the three look-ups of this person
    assert [e["action"] for e in listed["items"] + rest["items"]] == [
        "audit.person_accesses",
        "persons.lookup",
        "persons.lookup",
    ]
    with db.connect() as conn:
        assert audit.verify_chain(conn).ok
        listing = conn.execute(
            text("SELECT count(*) FROM audit_event WHERE action = 'audit.list'")
        ).scalar_one()
    assert listing == 2
