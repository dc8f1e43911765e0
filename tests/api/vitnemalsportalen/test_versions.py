"""History: every version of an achievement — what, delivered by whom in which batch, when — over REST
and GraphQL, read with kompetanse:read and audited as a read of the person's data."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.conftest import READ, WRITE, Token, bearer
from tests.api.graphql.conftest import data_of, gql
from tests.api.vitnemalsportalen.helpers import Pupil, by_code, last_audit, upload, vitnemal_csv


def _corrected(client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil) -> tuple[str, list[str]]:
    """The written exam's id after the school corrected its grade from 4 to 5, and the two batch ids."""
    answer = client.post(
        "/v1/persons/lookup", json={"nin": pupil.nin}, headers=bearer(token(orgs["portal"], READ))
    )
    exam = by_code(answer.json()["achievements"])[("NOR1211", "skriftlig_eksamen")]
    assert exam["version"] == 1
    first = answer_batch(client, token, pupil)
    second = upload(client, token, pupil.school, vitnemal_csv(pupil.school, pupil.nin, nor_exam="5"))
    assert second["accepted"] == 1  # only the exam changed
    return exam["id"], [first, second["batch_id"]]


def answer_batch(client: TestClient, token: Token, pupil: Pupil) -> str:
    batches = client.get("/v1/batches", headers=bearer(token(pupil.school, WRITE))).json()["items"]
    [first] = batches
    batch_id: str = first["id"]
    return batch_id


def test_a_corrected_grade_shows_both_versions(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, db: Engine
) -> None:
    exam, batches = _corrected(client, token, orgs, pupil)
    answer = client.get(f"/v1/achievements/{exam}/versions", headers=bearer(token(orgs["portal"], READ)))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["achievement_id"] == exam
    old, new = body["versions"]
    assert (old["version"], old["current"], old["grade"]["value"]) == (1, False, "4")
    assert (new["version"], new["current"], new["grade"]["value"]) == (2, True, "5")
    assert [old["batch_id"], new["batch_id"]] == batches
    assert old["delivered_by"]["orgnr"] == new["delivered_by"]["orgnr"] == pupil.school
    assert old["specification"]["code"] == "NOR1211" and old["status"] == "valid"
    assert old["delivered_at"] <= new["delivered_at"]
    assert pupil.nin not in answer.text
    row = last_audit(db, "achievements.versions")
    assert row.person_id is not None
    assert row.details["achievement_ids"] == [exam] and row.details["versions"] == [1, 2]


def test_versions_need_read_scope_and_an_unknown_id_is_audited(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, db: Engine
) -> None:
    exam, _ = _corrected(client, token, orgs, pupil)
    refused = client.get(f"/v1/achievements/{exam}/versions", headers=bearer(token(pupil.school, WRITE)))
    assert refused.status_code == 403 and refused.json()["code"] == "auth.missing_scope"
    unknown = client.get(
        f"/v1/achievements/{uuid.uuid4()}/versions", headers=bearer(token(orgs["portal"], READ))
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "achievement.not_found"
    row = last_audit(db, "achievements.versions")
    assert row.person_id is None  # the not-found row: a probe for result ids leaves its trace
    malformed = client.get("/v1/achievements/not-an-id/versions", headers=bearer(token(orgs["portal"], READ)))
    assert malformed.status_code == 422


def test_graphql_versions_field_is_audited(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, db: Engine
) -> None:
    exam, batches = _corrected(client, token, orgs, pupil)
    query = """query($nin: String!, $ids: [UUID!]) { person(nin: $nin) { achievements(ids: $ids) { nodes {
        id versions { version current grade { value } deliveredByOrgnr batchId deliveredAt
                      specificationCode } } } } }"""
    data = data_of(gql(client, token(orgs["portal"], READ), query, {"nin": pupil.nin, "ids": [exam]}))
    [node] = data["person"]["achievements"]["nodes"]
    assert [(v["version"], v["current"], v["grade"]["value"]) for v in node["versions"]] == [
        (1, False, "4"),
        (2, True, "5"),
    ]
    assert [v["batchId"] for v in node["versions"]] == batches
    assert {v["deliveredByOrgnr"] for v in node["versions"]} == {pupil.school}
    row = last_audit(db, "graphql.person")
    assert row.details["versions"] == {exam: [1, 2]}
    assert row.details["achievement_ids"] == [exam]
