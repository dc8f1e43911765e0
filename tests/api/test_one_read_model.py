"""One read model of a person: REST's look-up, GraphQL and the ELMO export give out the same achievements
in the same order, and the ELMO endpoint's audit row names exactly the achievements its document holds.

The person has a four-level tree (degree → module → course → part) and results whose code order and year
order disagree: the ELMO export used to sort by date and code only, and audited the person's valid
achievements by a query of its own, ordered by id.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, text

from register.namespaces import ELMO_NS
from tests.api.conftest import READ, Token, bearer
from tests.api.graphql.conftest import data_of, gql
from tests.api.rows import Spec, add_achievement, new_batch, new_person
from tests.factories import new_nin

_E = f"{{{ELMO_NS}}}"


def _deep_person(db: Engine, orgnr: str) -> tuple[str, dict[str, str]]:
    """A person with two degrees (late code first, early year second) and a result on its own;
    returns the national id and the achievement id of every specification code."""
    nin = new_nin(57)
    ids: dict[str, str] = {}
    with db.begin() as conn:
        person = new_person(conn, nin)
        batch = new_batch(conn, orgnr)

        def add(code: str, year: int, parent: uuid.UUID | None, kind: str) -> uuid.UUID:
            found = add_achievement(
                conn,
                person_id=person,
                batch_id=batch,
                provider_orgnr=orgnr,
                spec=Spec(code, kind="course" if kind == "course_result" else "programme"),
                kind=kind,
                year=year,
                part_of=parent,
                grade=("a-f", "B", True) if kind == "course_result" else None,
            )
            ids[code] = str(found)
            return found

        for degree_code, year in (("A-DEG", 2024), ("Z-DEG", 2019)):
            degree = add(degree_code, year, None, "degree")
            for m in ("M2", "M1"):
                module = add(f"{degree_code}-{m}", year, degree, "module")
                for c, course_year in (("C9", year), ("C1", year + 1)):
                    course = add(f"{degree_code}-{m}-{c}", course_year, module, "course_result")
                    add(f"{degree_code}-{m}-{c}-P", course_year, course, "course_result")
        add("B-ALONE", 2021, None, "course_result")
    return nin, ids


def _depth_first(nodes: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for node in nodes:
        found.append(node["id"])
        found.extend(_depth_first(node["parts"]))
    return found


_GRAPHQL = """query($n: String!) { person(nin: $n) { achievements { nodes {
  id parts { id parts { id parts { id parts { id } } } } } } } }"""


def test_rest_graphql_and_elmo_give_the_same_achievements_in_the_same_order(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    nin, ids = _deep_person(db, orgs["own"])
    auth = bearer(token(orgs["portal"], READ))

    looked_up = client.post("/v1/persons/lookup", json={"nin": nin}, headers=auth)
    assert looked_up.status_code == 200, looked_up.text
    rest = _depth_first(looked_up.json()["achievements"])

    graph = data_of(gql(client, token(orgs["portal"], READ), _GRAPHQL, {"n": nin}))
    graphql = _depth_first([{"parts": [], **n} for n in graph["person"]["achievements"]["nodes"]])

    exported = client.post("/v1/persons/elmo", json={"nin": nin}, headers=auth)
    assert exported.status_code == 200, exported.text
    root = etree.fromstring(exported.content)
    codes = [
        los.find(f"{_E}identifier[@type='local']").text
        for los in root.iter(f"{_E}learningOpportunitySpecification")
    ]
    elmo = [ids[code] for code in codes]

    assert sorted(rest) == sorted(ids.values())  # all 27 given out
    # The earlier degree first although its code sorts last; within a tree, year then code.
    assert rest[0] == ids["Z-DEG"]
    assert graphql == rest
    assert elmo == rest


def test_the_elmo_audit_row_names_exactly_the_achievements_in_the_document(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    nin, ids = _deep_person(db, orgs["own"])
    exported = client.post("/v1/persons/elmo", json={"nin": nin}, headers=bearer(token(orgs["portal"], READ)))
    assert exported.status_code == 200, exported.text
    root = etree.fromstring(exported.content)
    in_document = [
        ids[los.find(f"{_E}identifier[@type='local']").text]
        for los in root.iter(f"{_E}learningOpportunitySpecification")
    ]
    with db.connect() as conn:
        details = conn.execute(
            text("SELECT details FROM audit_event WHERE action = 'persons.elmo' ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    assert details["achievement_ids"] == in_document
    assert details["count"] == len(in_document) == len(ids)
