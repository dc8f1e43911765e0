"""The JSON look-up under concurrency: every answer has its audit row, committed before the answer left.

The app runs in one event loop here (httpx over ASGI), as in one uvicorn worker: concurrent look-ups
share the group writer (register/audit_group.py).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI
from sqlalchemy import Engine, text

from register import audit
from register.locks import LockKey
from tests.api.conftest import READ, Token, bearer
from tests.api.rows import Spec, add_achievement, new_batch, new_person
from tests.factories import new_nin


def _people(db: Engine, orgnr: str, n: int) -> list[tuple[str, uuid.UUID]]:
    people = []
    with db.begin() as conn:
        batch = new_batch(conn, orgnr)
        for i in range(n):
            nin = new_nin()
            person = new_person(conn, nin, "Kari", f"Nordmann {i}")
            add_achievement(conn, person_id=person, batch_id=batch, provider_orgnr=orgnr, spec=Spec(f"C{i}"))
            people.append((nin, person))
    return people


async def _with_client(app: FastAPI, work: Any) -> Any:
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://register"
        ) as http:
            return await work(http)
    finally:
        await app.state.loop_database.close()


def test_concurrent_look_ups_each_leave_one_audit_row_and_the_chains_verify(
    app: FastAPI, db: Engine, token: Token, orgs: dict[str, str]
) -> None:
    """60 look-ups at once (and 4 of unknown numbers): 60 answers with data, 64 audit rows, each naming
    the person and achievement its answer gave, written in fewer transactions than rows."""
    people = _people(db, orgs["own"], 20)
    auth = bearer(token(orgs["portal"], READ))
    asked = [people[i % len(people)] for i in range(60)]
    unknown = [new_nin() for _ in range(4)]

    async def work(http: httpx.AsyncClient) -> list[httpx.Response]:
        calls = [http.post("/v1/persons/lookup", json={"nin": nin}, headers=auth) for nin, _ in asked]
        calls += [http.post("/v1/persons/lookup", json={"nin": nin}, headers=auth) for nin in unknown]
        return list(await asyncio.gather(*calls))

    answers = asyncio.run(_with_client(app, work))
    assert [a.status_code for a in answers] == [200] * 60 + [404] * 4
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT person_id, details, request_id, xmin::text AS tx FROM audit_event ORDER BY id")
        ).all()
        assert audit.verify_chain(conn) == audit.ChainVerification(True, 64)
    by_request = {r.request_id: r for r in rows}
    for (_, person), answer in zip(asked, answers, strict=False):
        row = by_request[answer.headers["x-request-id"]]
        assert row.person_id == person and answer.json()["id"] == str(person)
        assert row.details["achievement_ids"] == [a["id"] for a in answer.json()["achievements"]]
    assert sum(r.details.get("outcome") == audit.NOT_FOUND and r.person_id is None for r in rows) == 4
    assert len({r.tx for r in rows}) < len(rows)


def test_the_answer_waits_until_its_audit_row_is_committed(
    app: FastAPI, db: Engine, database_url: str, token: Token, orgs: dict[str, str]
) -> None:
    """Another transaction holds the person's audit chain: the look-up has read the data but does not
    answer; when the chain is free, it answers, and its row is already visible to every other session."""
    [(nin, person)] = _people(db, orgs["own"], 1)
    auth = bearer(token(orgs["portal"], READ))

    async def work(http: httpx.AsyncClient) -> tuple[bool, httpx.Response, int]:
        async with await psycopg.AsyncConnection.connect(database_url) as blocker:
            await blocker.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", (LockKey.AUDIT_CHAIN, audit.chain_of(person))
            )
            answer = asyncio.ensure_future(http.post("/v1/persons/lookup", json={"nin": nin}, headers=auth))
            done, _ = await asyncio.wait([answer], timeout=1.5)
            answered_while_held = bool(done)
            await blocker.commit()
        response = await answer
        # Read at once, from a session of its own: the row is there when the answer is.
        async with await psycopg.AsyncConnection.connect(database_url) as reader:
            cursor = await reader.execute("SELECT count(*) FROM audit_event WHERE person_id = %s", (person,))
            row = await cursor.fetchone()
        assert row is not None
        return answered_while_held, response, row[0]

    answered_while_held, response, rows = asyncio.run(_with_client(app, work))
    assert not answered_while_held
    assert response.status_code == 200 and response.json()["id"] == str(person)
    assert rows == 1
