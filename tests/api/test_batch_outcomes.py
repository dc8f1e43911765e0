"""What a provider learns of its deliveries: a re-send after fixing the cause, each record's outcome,
a dry run that stores nothing, and the progress of a batch being processed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

import api.rest.batches
import intake.batches
from register.queries import batch_view
from tests.api.conftest import ADMIN, READ, WRITE, Token, bearer, vocational_csv
from tests.factories import create_organisation, new_nin


def _upload(client: TestClient, token: Token, org: str, body: bytes, query: str = "") -> Any:
    return client.post(
        f"/v1/batches?sector=vocational{query}",
        content=body,
        headers={**bearer(token(org, WRITE)), "Content-Type": "text/csv"},
    )


def _counts(db: Engine) -> dict[str, int]:
    tables = ("import_batch", "import_batch_chunk", "import_rejection", "import_record", "achievement",
              "person", "stats_pending", "audit_event")  # fmt: skip
    with db.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def test_a_file_resent_after_its_cause_was_fixed_is_imported(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    # The own fagskole sends the other's results before it is registered to deliver for it.
    body = vocational_csv(orgs["other"], new_nin(400), new_nin(401))
    first = _upload(client, token, orgs["own"], body).json()
    assert (first["status"], first["accepted"], first["rejected"]) == ("completed", 0, 8)
    create_organisation(db, orgnr=orgs["own"], kind="fagskole", delivers_for=[orgs["other"]])

    again = _upload(client, token, orgs["own"], body).json()
    assert (again["status"], again["accepted"], again["new"], again["rejected"]) == ("completed", 8, 8, 0)
    assert again["duplicate_of"] is None

    # Only now, after a batch without rejections, is the same file a duplicate: of that batch, with
    # its counts, both in the answer and in the stored batch.
    third = _upload(client, token, orgs["own"], body).json()
    assert (third["status"], third["duplicate_of"]) == ("duplicate", again["batch_id"])
    assert (third["accepted"], third["unchanged"], third["rejected"]) == (8, 0, 0)
    stored = client.get(f"/v1/batches/{third['batch_id']}", headers=bearer(token(orgs["own"], WRITE))).json()
    assert (stored["status"], stored["accepted"], stored["duplicate_of"]) == (
        "duplicate",
        8,
        again["batch_id"],
    )


def test_each_records_outcome_and_achievement_id(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    students = [new_nin(410), new_nin(411)]
    first = _upload(client, token, orgs["own"], vocational_csv(orgs["own"], *students)).json()
    assert first["accepted"] == 8
    # The same students again, one with a changed grade, and one of the other fagskole's (rejected).
    changed = vocational_csv(orgs["own"], students[0], grade="C", prefix="VM").decode().splitlines()
    unchanged = vocational_csv(orgs["own"], students[0], students[1]).decode().splitlines()[4:]
    foreign = vocational_csv(orgs["other"], new_nin(412), rows=1, prefix="X").decode().splitlines()[1:]
    second_body = ("\n".join(changed + unchanged + foreign) + "\n").encode()
    second = _upload(client, token, orgs["own"], second_body).json()
    # Three courses changed; the vitnemål (no grade of its own) and the other student's four are not.
    assert (second["new"], second["changed"], second["unchanged"], second["rejected"]) == (0, 3, 5, 2)

    headers = bearer(token(orgs["own"], WRITE))
    items, cursor = [], None
    while True:
        url = f"/v1/batches/{second['batch_id']}/records?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    outcomes = [i["outcome"] for i in items]  # the stored ones in delivery order, then the rejected
    assert sorted(outcomes[:8]) == ["changed"] * 3 + ["unchanged"] * 5 and outcomes[8:] == ["rejected"] * 2
    assert {i["code"] for i in items if i["outcome"] == "rejected"} == {"organisation.not_authorised"}
    with db.connect() as conn:
        stored = dict(
            conn.execute(
                text("SELECT source_key, id::text FROM achievement WHERE person_id IS NOT NULL")
            ).all()
        )
    kept = [i for i in items if i["outcome"] != "rejected"]
    assert {i["source_key"]: i["achievement_id"] for i in kept} == stored  # every result, its id
    first_records = client.get(f"/v1/batches/{first['batch_id']}/records", headers=headers).json()
    assert [i["outcome"] for i in first_records["items"]] == ["new"] * 8

    # The id is what a provider without the read scope needs to withdraw a result.
    withdrawn = client.post(
        f"/v1/achievements/{kept[0]['achievement_id']}/withdrawal", json={"reason": "sent in error"},
        headers=headers,
    )  # fmt: skip
    assert withdrawn.status_code == 200, withdrawn.text

    # Another organisation's batch is not found, as a missing one; the read or admin scope is no way in.
    url = f"/v1/batches/{second['batch_id']}/records"
    other = client.get(url, headers=bearer(token(orgs["other"], WRITE)))
    missing = client.get("/v1/batches/00000000-0000-4000-8000-000000000000/records", headers=headers)
    same = ("status", "code", "detail")
    assert [other.json()[k] for k in same] == [missing.json()[k] for k in same]
    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json()["code"] == "batch.not_found"
    for scope in (READ, ADMIN):
        assert client.get(url, headers=bearer(token(orgs["own"], scope))).status_code == 403
    bad = client.get(f"{url}?cursor=bm90LWEtY3Vyc29y", headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "request.cursor")


def test_a_dry_run_reports_the_import_and_stores_nothing(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    students = [new_nin(420), new_nin(421)]
    body = vocational_csv(orgs["own"], *students)
    before = _counts(db)
    dry = _upload(client, token, orgs["own"], body, "&dry_run=true")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["dry_run"], report["batch_id"], report["status"]) == (True, None, "completed")
    assert (report["accepted"], report["new"], report["changed"], report["rejected"]) == (8, 8, 0, 0)
    assert "location" not in dry.headers
    assert _counts(db) == before  # no batch, no bytes, no result, no person, nothing pending, no audit

    real = _upload(client, token, orgs["own"], body).json()
    assert {k: real[k] for k in ("accepted", "new", "unchanged", "rejected")} == {
        k: report[k] for k in ("accepted", "new", "unchanged", "rejected")
    }
    # A changed file with a rejected row: counted and explained as the import would, nothing stored.
    changed = vocational_csv(orgs["own"], students[0], grade="A") + b"01018012345;Ola;Nordmann;x\n"
    before = _counts(db)
    report = _upload(client, token, orgs["own"], changed, "&dry_run=true").json()
    assert (report["changed"], report["new"], report["unchanged"], report["rejected"]) == (3, 0, 1, 1)
    assert report["errors"][0]["record"] == "row 4"  # the reason, with its place
    assert _counts(db) == before
    # The identical file again: the import would answer duplicate, and so does the dry run.
    duplicate = _upload(client, token, orgs["own"], body, "&dry_run=true").json()
    assert (duplicate["status"], duplicate["duplicate_of"], duplicate["accepted"]) == (
        "duplicate", real["batch_id"], 8,
    )  # fmt: skip
    unusable = _upload(client, token, orgs["own"], b"\x00\x01 no format", "&dry_run=true")
    assert (unusable.status_code, unusable.json()["code"], unusable.json()["dry_run"]) == (
        422, "format.unknown", True,
    )  # fmt: skip
    assert "batch_id" not in unusable.json()
    assert _counts(db) == before


def test_a_processing_batch_shows_its_progress(
    client: TestClient, token: Token, orgs: dict[str, str], app: FastAPI, db: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    app.state.settings = app.state.settings.model_copy(update={"import_chunk_rows": 5})
    seen: list[tuple[str, int]] = []
    record_progress = intake.batches._record_progress

    def observed(engine: Engine, batch_id: Any, done: int) -> None:
        record_progress(engine, batch_id, done)
        with db.connect() as conn:  # what any other connection (a poll) sees while the batch runs
            batch = batch_view(conn, batch_id)
            assert batch is not None
            seen.append((batch.status, batch.records_done))

    monkeypatch.setattr(intake.batches, "_record_progress", observed)
    body = vocational_csv(orgs["own"], *[new_nin(430 + i) for i in range(4)])  # 16 records
    report = _upload(client, token, orgs["own"], body).json()
    assert seen == [("processing", 5), ("processing", 10), ("processing", 15)]
    batch = client.get(f"/v1/batches/{report['batch_id']}", headers=bearer(token(orgs["own"], WRITE)))
    assert (batch.json()["status"], batch.json()["records_done"]) == ("completed", 16)
    assert "retry-after" not in batch.headers  # done: nothing to wait for


def test_a_large_upload_says_when_to_poll(
    client: TestClient, token: Token, orgs: dict[str, str], app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.rest.batches, "SYNCHRONOUS_BYTES", 100)
    # Nothing runs the batch: it stays 'received', as a large one does while a worker is busy.
    monkeypatch.setattr(api.rest.batches, "_executor", lambda app: type("Idle", (), {"submit": print})())
    response = _upload(client, token, orgs["own"], vocational_csv(orgs["own"], new_nin(440)))
    assert response.status_code == 202
    assert response.headers["retry-after"] == "1"
    poll = client.get(response.headers["location"], headers=bearer(token(orgs["own"], WRITE)))
    assert (poll.json()["status"], poll.headers["retry-after"]) == ("received", "1")
    assert api.rest.batches.retry_after(10 * 1024 * 1024) == 2  # ~2 MiB/s: half of a 5 s run
    assert api.rest.batches.retry_after(10**12) == 60
