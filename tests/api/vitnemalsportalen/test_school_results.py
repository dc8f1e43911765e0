"""School results in full: standpunkt and each exam distinct and labelled, the exam's form and the
utdanningsprogram given out, and an exemption neither passed nor failed — in JSON, GraphQL and ELMO."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from lxml import etree

from register.namespaces import ELMO_NS
from tests.api.conftest import READ, Token, bearer
from tests.api.graphql.conftest import data_of, gql
from tests.api.vitnemalsportalen.helpers import Pupil, by_code
from tests.exports.elmo_schema import schema_errors

E = f"{{{ELMO_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _lookup(client: TestClient, token: Token, portal: str, nin: str) -> dict[str, Any]:
    answer = client.post("/v1/persons/lookup", json={"nin": nin}, headers=bearer(token(portal, READ)))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_json_labels_standpunkt_and_exam_and_keeps_the_programme(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil
) -> None:
    answer = _lookup(client, token, orgs["portal"], pupil.nin)
    [vitnemal] = answer["achievements"]
    assert vitnemal["kind"] == "diploma" and vitnemal["programme"] == "Studiespesialisering"
    assert vitnemal["assessment"] is None
    results = by_code(answer["achievements"])
    standpunkt, exam = results[("NOR1211", "standpunkt")], results[("NOR1211", "skriftlig_eksamen")]
    assert (standpunkt["kind"], exam["kind"]) == ("subject_grade", "exam")
    assert standpunkt["assessment"] == {
        "code": "standpunkt",
        "type": "standpunkt",
        "form": None,
        "title": {"nb": "Standpunkt", "en": "Overall achievement mark"},
    }
    assert exam["assessment"] == {
        "code": "skriftlig_eksamen",
        "type": "exam",
        "form": "written",
        "title": {"nb": "Skriftlig eksamen", "en": "Written exam"},
    }
    assert results[("MAT1021", "muntlig_eksamen")]["assessment"]["form"] == "oral"
    assert results[(None, "orden")]["assessment"]["type"] == "conduct"
    exempt = results[("SPR3010", "standpunkt")]
    assert exempt["grade"]["value"] == "fritatt" and exempt["grade"]["passed"] is None


def test_elmo_writes_them_as_distinct_labelled_entries_and_leaves_out_the_exemption(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil
) -> None:
    answer = client.post(
        "/v1/persons/elmo", json={"nin": pupil.nin}, headers=bearer(token(orgs["portal"], READ))
    )
    assert answer.status_code == 200, answer.text
    assert schema_errors(answer.content) == []
    root = etree.fromstring(answer.content)
    [vitnemal] = root.findall(f"{E}report/{E}learningOpportunitySpecification")
    descriptions = {d.get(XML_LANG): d.text for d in vitnemal.findall(f"{E}description")}
    assert descriptions == {
        "nb": "Utdanningsprogram: Studiespesialisering",
        "en": "Education programme: Studiespesialisering",
    }
    entries = {}
    for los in vitnemal.iter(f"{E}learningOpportunitySpecification"):
        loi = los.find(f"{E}specifies/{E}learningOpportunityInstance")
        kind = loi.find(f"{E}identifier[@type='vurderingstype']")
        if kind is None:
            continue
        labels = {d.get(XML_LANG): d.text for d in los.findall(f"{E}description")}
        entries[(los.findtext(f"{E}identifier"), kind.text)] = (labels, loi.findtext(f"{E}status"))
    assert entries[("NOR1211", "standpunkt")] == (
        {"nb": "Standpunkt", "en": "Overall achievement mark"},
        "passed",
    )
    assert entries[("NOR1211", "skriftlig_eksamen")] == (
        {"nb": "Skriftlig eksamen", "en": "Written exam"},
        "passed",
    )
    assert entries[("MAT1021", "muntlig_eksamen")][0]["en"] == "Oral exam"
    # ELMO's status is passed, failed or in progress, and none means passed: an exemption is neither,
    # so it is not written (the JSON gives it with passed null).
    assert ("SPR3010", "standpunkt") not in entries
    assert b"fritatt" not in answer.content


def test_graphql_gives_the_assessment_and_the_programme(
    client: TestClient, token: Token, orgs: dict[str, str], pupil: Pupil
) -> None:
    query = """query($nin: String!) { person(nin: $nin) { achievements {
        nodes { programme parts { specification { code } grade { value passed }
                                  assessment { code type form titleNb titleEn } } } } } }"""
    data = data_of(gql(client, token(orgs["portal"], READ), query, {"nin": pupil.nin}))
    [vitnemal] = data["person"]["achievements"]["nodes"]
    assert vitnemal["programme"] == "Studiespesialisering"
    parts = {(p["specification"]["code"], p["assessment"]["code"]): p for p in vitnemal["parts"]}
    assert parts[("NOR1211", "skriftlig_eksamen")]["assessment"] == {
        "code": "skriftlig_eksamen",
        "type": "exam",
        "form": "written",
        "titleNb": "Skriftlig eksamen",
        "titleEn": "Written exam",
    }
    assert parts[("SPR3010", "standpunkt")]["grade"] == {"value": "fritatt", "passed": None}
