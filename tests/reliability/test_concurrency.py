"""Uploads at the same moment through a real server: identical ones make one import, twenty from twenty
organisations all complete without deadlock, and a look-up during an import never sees half a batch."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from register import audit
from register.synthetic import synthetic_nin
from tests.factories import create_organisation, new_nin
from tests.reliability.deliveries import vitnemal_csv, vocational_csv
from tests.reliability.server import READ, WRITE, Served, count_achievements

pytestmark = pytest.mark.slow


def _at_once(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``n`` threads released together; return the results (or raise the first error)."""
    results: list[Any] = [None] * n
    errors: list[BaseException] = []
    gate = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            gate.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "an upload never returned (deadlock?)"
    assert not errors, errors
    return results


def _upload(served: Served, orgnr: str, content: bytes, client: httpx.Client | None = None) -> httpx.Response:
    headers = served.headers(orgnr, WRITE, **{"Content-Type": "text/csv"})
    with client or served.client(timeout=300) as http:
        return http.post("/v1/batches", params={"sector": "vocational"}, content=content, headers=headers)


def test_two_identical_uploads_at_the_same_moment_make_one_import(served: Served, db: Engine) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    content = vocational_csv(fagskole, rows=2_000, seed=3)
    responses = _at_once(2, lambda _: _upload(served, fagskole, content))
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    bodies = sorted((r.json() for r in responses), key=lambda b: b["status"])
    completed, duplicate = bodies
    assert (completed["status"], completed["accepted"]) == ("completed", 2_000)
    # The duplicate reports what the file did when it was imported: the first batch's counts.
    assert (duplicate["status"], duplicate["accepted"], duplicate["new"]) == ("duplicate", 2_000, None)
    assert duplicate["duplicate_of"] == completed["batch_id"]
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar() == 2_000
        statuses = conn.execute(text("SELECT status, count(*) FROM import_batch GROUP BY status")).all()
    assert dict(statuses) == {"completed": 1, "duplicate": 1}


def test_a_dry_run_beside_the_same_import_stores_nothing_and_blocks_nothing(
    served: Served, db: Engine
) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    content = vocational_csv(fagskole, rows=2_000, seed=5)
    headers = served.headers(fagskole, WRITE, **{"Content-Type": "text/csv"})

    def upload(i: int) -> httpx.Response:
        params = {"sector": "vocational", **({"dry_run": "true"} if i else {})}
        with served.client(timeout=300) as http:
            return http.post("/v1/batches", params=params, content=content, headers=headers)

    real, dry = (r.json() for r in _at_once(2, upload))
    assert (real["status"], real["new"]) == ("completed", 2_000), real
    # Before the import committed the dry run sees 2 000 new, after it 2 000 unchanged (it waits on
    # the import's lock when it meets it mid-way): every record accounted for, either way.
    assert (dry["dry_run"], dry["status"], dry["rejected"]) == (True, "completed", 0), dry
    assert dry["new"] + dry["unchanged"] == 2_000 and dry["changed"] == 0
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar() == 2_000
        assert conn.execute(text("SELECT count(*) FROM import_batch")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM import_record")).scalar() == 2_000


def test_twenty_organisations_uploading_at_once_all_complete(served: Served, db: Engine) -> None:
    fagskoler = [create_organisation(db, name=f"Fagskole {i}", kind="fagskole") for i in range(20)]
    # Some students study at several fagskoler, so the imports meet on the same persons.
    shared = [new_nin(900 + i) for i in range(3)]
    files = [
        vitnemal_csv(f, shared[i % 3], courses=3, vitnemal=f"VM-{i}")
        + vocational_csv(f, rows=50, seed=i).split(b"\n", 1)[1]
        for i, f in enumerate(fagskoler)
    ]
    responses = _at_once(20, lambda i: _upload(served, fagskoler[i], files[i]))
    for r in responses:
        assert r.status_code == 201, r.text
        assert (r.json()["status"], r.json()["accepted"], r.json()["rejected"]) == ("completed", 54, 0), (
            r.text
        )
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM achievement")).scalar() == 20 * 54
        per_org = conn.execute(
            text(
                """SELECT o.orgnr, count(*) FROM achievement a JOIN organisation o ON o.id = a.awarding_org_id
                   GROUP BY o.orgnr"""
            )
        ).all()
        assert dict(per_org) == dict.fromkeys(fagskoler, 54)
        # Each shared student is one person, whichever import created them first.
        assert (
            conn.execute(
                text("SELECT count(*) FROM person_identifier WHERE value = ANY(:v)"), {"v": shared}
            ).scalar()
            == 3
        )
    assert served.alive()


def test_look_ups_during_an_import_never_see_half_a_batch(served: Served, db: Engine) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    portal = create_organisation(db, kind="other")
    student = synthetic_nin(random.Random(77))
    assert (
        _upload(served, fagskole, vitnemal_csv(fagskole, student, courses=1, vitnemal="VM-0")).status_code
        == 201
    )
    before = 2  # the vitnemål and its one course

    # A large batch with five more results of the student: first, in the middle and last.
    rows = vocational_csv(fagskole, rows=8_000, seed=5).split(b"\n")
    header, body = rows[0], [r for r in rows[1:] if r]
    mine = [
        f"{student};Emil;Berg;{fagskole};ELKRAFT;Elkraft;5.1;120;EL-9{k};Emne {k};10;C;2024-06-10;2024V;MINE-{k};;".encode()
        for k in range(5)
    ]
    for position, row in zip((0, 2_000, 4_000, 6_000, len(body)), mine, strict=True):
        body.insert(position, row)
    big = b"\n".join([header, *body]) + b"\n"
    added = len(mine)

    seen: list[tuple[int, bool]] = []
    finished = threading.Event()

    def batch_processing() -> bool:
        with db.connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT count(*) FROM import_batch WHERE status IN ('received', 'processing')")
                ).scalar()
            )

    failures: list[BaseException] = []

    def look_up() -> None:
        try:
            _look_up_until_finished()
        except BaseException as exc:  # reported in the test's thread below
            failures.append(exc)

    def _look_up_until_finished() -> None:
        with served.client(timeout=60) as http:
            headers = served.headers(portal, READ)
            while not finished.is_set():
                during = batch_processing()
                r = http.post("/v1/persons/lookup", json={"nin": student}, headers=headers)
                assert r.status_code == 200, r.text
                seen.append((count_achievements(r.json()), during and batch_processing()))

    reader = threading.Thread(target=look_up)
    reader.start()
    try:
        response = _upload(served, fagskole, big)
    finally:
        finished.set()
        reader.join(timeout=60)
    assert not failures, failures
    assert response.status_code == 201 and response.json()["accepted"] == 8_000 + added, response.text
    assert {count for count, _ in seen} <= {before, before + added}, seen
    assert any(during for _, during in seen), "no look-up happened while the batch was being imported"
    with served.client() as http:
        final = http.post("/v1/persons/lookup", json={"nin": student}, headers=served.headers(portal, READ))
    assert count_achievements(final.json()) == before + added


def test_a_burst_of_look_ups_is_answered_and_audited_exactly(served: Served, db: Engine) -> None:
    """240 look-ups from 40 clients at once: each is answered 200 (or 503 with Retry-After if no database
    connection is free in time — never another error), the server stays up, and the audit trail has
    exactly one row per answer given, in one unbroken chain."""
    fagskole = create_organisation(db, kind="fagskole")
    portal = create_organisation(db, kind="other")
    students = [new_nin(500 + i) for i in range(8)]
    for i, nin in enumerate(students):
        assert (
            _upload(served, fagskole, vitnemal_csv(fagskole, nin, courses=2, vitnemal=f"VM-{i}")).status_code
            == 201
        )
    headers = served.headers(portal, READ)

    def burst(i: int) -> list[httpx.Response]:
        with served.client(timeout=120) as http:
            return [
                http.post(
                    "/v1/persons/lookup", json={"nin": students[(i + k) % len(students)]}, headers=headers
                )
                for k in range(6)
            ]

    answers = [r for batch in _at_once(40, burst) for r in batch]
    statuses = {r.status_code for r in answers}
    assert statuses <= {200, 503}, {r.status_code: r.text for r in answers if r.status_code not in (200, 503)}
    for r in answers:
        if r.status_code == 503:
            assert r.json()["code"] == "database.unavailable" and r.headers["retry-after"]
        else:
            assert count_achievements(r.json()) == 3
    given = sum(r.status_code == 200 for r in answers)
    assert given > 0
    with db.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM audit_event WHERE action = 'persons.lookup'")).scalar()
            == given
        )
        assert audit.verify_chain(conn).ok
    assert served.alive()
