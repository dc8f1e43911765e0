"""The student chooses: achievements, sectors, passed only, from and to — in the look-up, in ELMO and in
GraphQL, from the one read model; the audit row holds exactly what was given."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine

from register.namespaces import ELMO_NS
from tests.api.conftest import READ, Token, bearer
from tests.api.graphql.conftest import data_of, error_codes, gql
from tests.api.vitnemalsportalen.helpers import Pupil, by_code, ids_depth_first, last_audit

ELMO = f"{{{ELMO_NS}}}"


def _post(client: TestClient, token: Token, portal: str, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json=body, headers=bearer(token(portal, READ)))


def _lookup(client: TestClient, token: Token, portal: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = _post(client, token, portal, "/v1/persons/lookup", body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_chosen_achievements_only_and_the_audit_names_the_choice(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, db: Engine
) -> None:
    everything = by_code(_lookup(client, token, orgs["portal"], {"nin": pupil.nin})["achievements"])
    chosen = [
        everything[("NOR1211", "skriftlig_eksamen")]["id"],
        everything[("MAT1021", "muntlig_eksamen")]["id"],
    ]
    body = {"nin": pupil.nin, "achievements": chosen}
    answer = _lookup(client, token, orgs["portal"], body)
    # Their parent (the vitnemål) was not chosen: they come at the top level, nothing else with them.
    assert sorted(ids_depth_first(answer["achievements"])) == sorted(chosen)
    row = last_audit(db, "persons.lookup")
    assert row.details["filters"] == {"achievements": chosen}
    assert sorted(row.details["achievement_ids"]) == sorted(chosen)
    assert pupil.nin not in str(row.details)


def test_dates_sectors_and_passed_only_narrow_together(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, db: Engine
) -> None:
    # Completed in May: the written exam only (standpunkt and the vitnemål are dated 20 June).
    may = _lookup(client, token, orgs["portal"], {"nin": pupil.nin, "from": "2025-05-01", "to": "2025-05-31"})
    assert list(by_code(may["achievements"])) == [("NOR1211", "skriftlig_eksamen")]
    assert last_audit(db, "persons.lookup").details["filters"] == {"from": "2025-05-01", "to": "2025-05-31"}
    june = _lookup(client, token, orgs["portal"], {"nin": pupil.nin, "from": "2025-06-01"})
    assert ("NOR1211", "skriftlig_eksamen") not in by_code(june["achievements"])
    assert ("MAT1021", "muntlig_eksamen") in by_code(june["achievements"])
    other_sector = _lookup(client, token, orgs["portal"], {"nin": pupil.nin, "sectors": ["higher"]})
    assert other_sector["achievements"] == []
    # An exemption is not "not passed": passed only keeps it.
    passed = by_code(
        _lookup(client, token, orgs["portal"], {"nin": pupil.nin, "passed_only": True})["achievements"]
    )
    assert ("SPR3010", "standpunkt") in passed


@pytest.mark.parametrize(
    "body",
    [
        {"from": "2025-06-30", "to": "2025-06-01"},
        {"from": "30.06.2025"},
        {"achievements": ["not-a-uuid"]},
        {"achievements": ["00000000-0000-0000-0000-000000000000"] * 1001},
        {"sector": "primary"},  # the field is sectors, a list
    ],
)
def test_a_bad_selection_is_a_clear_422(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, body: dict[str, Any]
) -> None:
    for path in ("/v1/persons/lookup", "/v1/persons/elmo"):
        answer = _post(client, token, orgs["portal"], path, {"nin": pupil.nin, **body})
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["code"] == "request.invalid" and problem["errors"]
        assert pupil.nin not in answer.text


def test_elmo_holds_exactly_the_choice_and_its_audit_says_so(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, db: Engine
) -> None:
    everything = by_code(_lookup(client, token, orgs["portal"], {"nin": pupil.nin})["achievements"])
    vitnemal = everything[("vitnemal", None)]["id"]
    exam = everything[("NOR1211", "skriftlig_eksamen")]["id"]
    body = {"nin": pupil.nin, "achievements": [vitnemal, exam], "passed_only": True}
    answer = _post(client, token, orgs["portal"], "/v1/persons/elmo", body)
    assert answer.status_code == 200, answer.text
    root = etree.fromstring(answer.content)
    specs = root.findall(f".//{ELMO}learningOpportunitySpecification")
    assert [s.findtext(f"{ELMO}identifier") for s in specs] == ["vitnemal", "NOR1211"]
    # The exam sits under its vitnemål, as in the register.
    assert specs[1].getparent().tag == f"{ELMO}hasPart"
    row = last_audit(db, "persons.elmo")
    assert row.details["achievement_ids"] == [vitnemal, exam]
    assert row.details["filters"] == {"achievements": [vitnemal, exam], "passed_only": True}


def test_elmo_with_nothing_chosen_is_a_404_that_is_audited(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, db: Engine
) -> None:
    body = {"nin": pupil.nin, "sectors": ["micro"]}
    answer = _post(client, token, orgs["portal"], "/v1/persons/elmo", body)
    assert answer.status_code == 404 and answer.json()["code"] == "elmo.nothing_to_export"
    row = last_audit(db, "persons.elmo")
    assert row.person_id is not None
    assert row.details["count"] == 0 and row.details["filters"] == {"sectors": ["micro"]}


QUERY = """
query($nin: String!, $ids: [UUID!], $from: Date, $to: Date, $passed: Boolean! = false) {
  person(nin: $nin) {
    achievements(ids: $ids, from: $from, to: $to, passedOnly: $passed, first: 50) {
      totalCount
      nodes { id specification { code } assessment { code } parts { id } }
    }
  }
}
"""


def test_graphql_takes_the_same_selection(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil, db: Engine
) -> None:
    auth = token(orgs["portal"], READ)
    everything = by_code(_lookup(client, token, orgs["portal"], {"nin": pupil.nin})["achievements"])
    exam = everything[("NOR1211", "skriftlig_eksamen")]["id"]
    chosen = data_of(gql(client, auth, QUERY, {"nin": pupil.nin, "ids": [exam]}))
    nodes = chosen["person"]["achievements"]["nodes"]
    assert [(n["id"], n["assessment"]["code"]) for n in nodes] == [(exam, "skriftlig_eksamen")]
    row = last_audit(db, "graphql.person")
    assert row.details["achievement_ids"] == [exam]
    [filters] = row.details["filters"]
    assert filters["ids"] == [exam] and filters["from"] is None
    may = data_of(gql(client, auth, QUERY, {"nin": pupil.nin, "from": "2025-05-01", "to": "2025-05-31"}))
    assert [n["id"] for n in may["person"]["achievements"]["nodes"]] == [exam]
    # The same selection gives the same achievements as REST's look-up.
    rest = _lookup(
        client, token, orgs["portal"], {"nin": pupil.nin, "from": "2025-05-01", "to": "2025-05-31"}
    )
    assert ids_depth_first(rest["achievements"]) == [exam]
    backwards = gql(client, auth, QUERY, {"nin": pupil.nin, "from": "2025-06-30", "to": "2025-06-01"})
    assert error_codes(backwards) == ["request.invalid"]
