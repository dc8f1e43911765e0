"""Each query through HTTP against the real database: person (with filters and pages), organisation,
specification and stats — and that person and stats give exactly what REST gives."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from register import disclosure
from tests.api.conftest import ADMIN, READ, STATS, WRITE, Token, bearer
from tests.api.graphql.conftest import data_of, error_codes, gql, make_learner
from tests.factories import create_organisation

ACHIEVEMENT = """
    id sector kind year term version completedOn
    specification { id kind code codeScheme title { nb en } credits { value scheme } level { nkr eqf } iscedfCode }
    organisation { orgnr name kind country codes { scheme value } }
    grade { asDelivered scheme passed }
    credits { value scheme }
    level { nkr eqf }
"""

PERSON = f"""
query Person($nin: String!, $first: Int, $after: String, $passedOnly: Boolean! = false) {{
  person(nin: $nin) {{
    id name {{ given family }} birthDate
    identifiers {{ kind value }}
    achievements(first: $first, after: $after, passedOnly: $passedOnly) {{
      totalCount
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      edges {{ cursor node {{ {ACHIEVEMENT} parts {{ {ACHIEVEMENT} partOf {{ id }} }} }} }}
    }}
  }}
}}
"""


def test_person_gives_the_nested_achievements_with_every_field(
    client: TestClient, token: Token, portal: str, db: Engine
) -> None:
    learner = make_learner(db, courses=4, organisations=2, seed=11)
    response = gql(client, token(portal, READ), PERSON, {"nin": learner.nin})
    person = data_of(response)["person"]
    assert person["id"] == str(learner.person_id)
    assert person["name"] == {"given": "Kari", "family": "Nordmann"}
    assert person["identifiers"] == [{"kind": "synthetic", "value": learner.nin}]
    connection = person["achievements"]
    assert connection["totalCount"] == 2
    assert connection["pageInfo"]["hasNextPage"] is False
    degrees = [edge["node"] for edge in connection["edges"]]
    assert sorted(d["id"] for d in degrees) == sorted(str(i) for i in learner.degrees)
    for degree in degrees:
        assert degree["kind"] == "DEGREE" and degree["sector"] == "HIGHER"
        assert degree["grade"] is None and degree["credits"] == {"value": 180.0, "scheme": "ects"}
        assert degree["specification"]["kind"] == "qualification"
        assert len(degree["parts"]) == 2
        org = degree["organisation"]
        assert org["orgnr"] in learner.orgs and org["kind"] == "university" and org["codes"] == []
        for course in degree["parts"]:
            assert course["partOf"] == {"id": degree["id"]}
            assert course["organisation"]["orgnr"] == org["orgnr"]
            assert course["grade"] == {"asDelivered": "B", "scheme": "a-f", "passed": True}
            assert course["credits"] == {"value": 10.0, "scheme": "ects"}
            assert course["level"] == {"nkr": "6", "eqf": None}
            assert course["specification"]["title"]["en"].startswith("Course EMNE11-")


def test_person_matches_the_rest_lookup(client: TestClient, token: Token, portal: str, db: Engine) -> None:
    learner = make_learner(db, courses=9, organisations=3, seed=12, failed_every=3)
    auth = token(portal, READ)
    for passed_only in (False, True):
        rest = client.post(
            "/v1/persons/lookup", json={"nin": learner.nin, "passed_only": passed_only}, headers=bearer(auth)
        )
        assert rest.status_code == 200, rest.text
        graph = data_of(gql(client, auth, PERSON, {"nin": learner.nin, "passedOnly": passed_only}))["person"]

        def from_rest(a: dict[str, Any]) -> tuple[Any, ...]:
            grade = a["grade"]
            return (
                a["id"],
                a["specification"]["code"],
                a["awarding_organisation"]["orgnr"],
                (grade["value"], grade["scheme"], grade["passed"]) if grade else None,
                a["credits"],
                tuple(from_rest(p) for p in a["parts"]),
            )

        def from_graph(a: dict[str, Any]) -> tuple[Any, ...]:
            grade = a["grade"]
            return (
                a["id"],
                a["specification"]["code"],
                a["organisation"]["orgnr"],
                (grade["asDelivered"], grade["scheme"], grade["passed"]) if grade else None,
                a["credits"]["value"] if a["credits"] else None,
                tuple(from_graph(p) for p in a.get("parts", [])),
            )

        assert [from_graph(e["node"]) for e in graph["achievements"]["edges"]] == [
            from_rest(a) for a in rest.json()["achievements"]
        ]
    # 9 courses, every third failed: passedOnly leaves 6
    assert sum(len(e["node"]["parts"]) for e in graph["achievements"]["edges"]) == 6


def test_pages_follow_cursors_and_a_foreign_cursor_is_refused(
    client: TestClient, token: Token, portal: str, db: Engine
) -> None:
    learner = make_learner(db, courses=0, organisations=5, seed=13)
    auth = token(portal, READ)
    seen: list[str] = []
    after = None
    for _ in range(3):
        page = data_of(gql(client, auth, PERSON, {"nin": learner.nin, "first": 2, "after": after}))
        connection = page["person"]["achievements"]
        assert connection["totalCount"] == 5
        seen += [e["node"]["id"] for e in connection["edges"]]
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break
    assert len(seen) == 5 and set(seen) == {str(i) for i in learner.degrees}

    bad = gql(client, auth, PERSON, {"nin": learner.nin, "after": "bm90LW91cnM"})
    assert error_codes(bad) == ["request.cursor"]
    too_big = gql(client, auth, PERSON, {"nin": learner.nin, "first": 10_000})
    assert error_codes(too_big) == ["request.invalid"]


def test_filters_by_sector_and_kind(client: TestClient, token: Token, portal: str, db: Engine) -> None:
    learner = make_learner(db, courses=6, organisations=2, seed=14)
    query = """query($nin: String!, $sector: [Sector!], $kind: [AchievementKind!]) {
      person(nin: $nin) { achievements(sector: $sector, kind: $kind) {
        totalCount nodes { id kind partOf { id kind } } } } }"""
    auth = token(portal, READ)
    courses = data_of(gql(client, auth, query, {"nin": learner.nin, "kind": ["COURSE_RESULT"]}))
    nodes = courses["person"]["achievements"]["nodes"]
    assert {n["id"] for n in nodes} == {str(i) for i in learner.courses}
    assert {n["partOf"]["kind"] for n in nodes} == {"DEGREE"}
    primary = data_of(gql(client, auth, query, {"nin": learner.nin, "sector": ["PRIMARY"]}))
    assert primary["person"]["achievements"] == {"totalCount": 0, "nodes": []}
    higher = data_of(gql(client, auth, query, {"nin": learner.nin, "sector": "HIGHER"}))
    assert higher["person"]["achievements"]["totalCount"] == 2


def test_organisation_and_specification(client: TestClient, token: Token, db: Engine) -> None:
    school = create_organisation(db, name="Fylket", kind="county")
    university = create_organisation(
        db,
        name="Universitetet",
        kind="university",
        codes={"erasmus": "N OSLO01", "fs": "185"},
        delivers_for=[school],
    )
    learner = make_learner(db, courses=1, organisations=1, seed=15)
    query = """query($orgnr: String!) { organisation(orgnr: $orgnr) {
        orgnr name kind country codes { scheme value } deliversFor } }"""
    for scope in (READ, STATS, WRITE, ADMIN):
        org = data_of(gql(client, token(university, scope), query, {"orgnr": university}))["organisation"]
        assert org == {
            "orgnr": university,
            "name": "Universitetet",
            "kind": "university",
            "country": "NO",
            "codes": [{"scheme": "erasmus", "value": "N OSLO01"}, {"scheme": "fs", "value": "185"}],
            "deliversFor": [school],
        }
    auth = token(school, READ)
    assert error_codes(gql(client, auth, query, {"orgnr": "999999999"})) == ["organisation.not_found"]
    assert error_codes(gql(client, auth, query, {"orgnr": "12"})) == ["request.invalid"]

    spec_id = data_of(
        gql(
            client,
            auth,
            "query($nin: String!) { person(nin: $nin) { achievements { nodes { specification { id } } } } }",
            {"nin": learner.nin},
        )
    )["person"]["achievements"]["nodes"][0]["specification"]["id"]
    spec_query = "query($id: Int!) { specification(id: $id) { id kind code title { nb } level { nkr } } }"
    spec = data_of(gql(client, auth, spec_query, {"id": spec_id}))["specification"]
    assert spec == {
        "id": spec_id,
        "kind": "qualification",
        "code": "BACH15-0",
        "title": {"nb": "Emne BACH15-0"},
        "level": {"nkr": "6"},
    }
    assert error_codes(gql(client, auth, spec_query, {"id": 987654})) == ["specification.not_found"]


STATS_QUERY = """query($groupBy: [StatsDimension!]!, $filter: StatsFilter) {
  stats(groupBy: $groupBy, filter: $filter) {
    sector year provider { orgnr name } level field nus grade { scheme value }
    achievements persons credits { value scheme } suppressed perturbed } }"""


def _rest_cell(cell: dict[str, Any]) -> dict[str, Any]:
    credits = cell["credits"]
    return {
        "sector": cell.get("sector"),
        "year": cell.get("year"),
        "provider": cell.get("provider"),
        "level": cell.get("level"),
        "field": cell.get("field"),
        "nus": cell.get("nus"),
        "grade": cell.get("grade"),
        "achievements": cell["achievements"],
        "persons": cell["persons"],
        "credits": [{"value": v, "scheme": s} for s, v in sorted(credits.items())]
        if credits is not None
        else None,
        "suppressed": cell["suppressed"],
        "perturbed": cell["perturbed"],
    }


def test_stats_gives_the_same_cells_as_rest(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    for seed in range(5):
        make_learner(db, courses=3, organisations=1, seed=100 + seed, failed_every=2 if seed % 2 else 0)
    auth = token(orgs["analyst"], STATS)
    cases = [
        (["SECTOR"], None, "group_by=sector"),
        (["SECTOR", "YEAR"], None, "group_by=sector,year"),
        (["PROVIDER", "GRADE"], None, "group_by=provider,grade"),
        (["YEAR"], {"grade": {"scheme": "a-f", "value": "B"}}, "group_by=year&grade=a-f:B"),
        (
            ["LEVEL", "FIELD"],
            {"sector": "HIGHER", "year": 2021},
            "group_by=level,field&sector=higher&year=2021",
        ),
    ]
    suppressed_somewhere = False
    for group_by, filters, rest_query in cases:
        graph = data_of(gql(client, auth, STATS_QUERY, {"groupBy": group_by, "filter": filters}))["stats"]
        rest = client.get(f"/v1/stats/achievements?{rest_query}", headers=bearer(auth))
        assert rest.status_code == 200, rest.text
        assert graph == [_rest_cell(c) for c in rest.json()["cells"]], rest_query
        assert graph, rest_query
        suppressed_somewhere |= any(c["suppressed"] and c["persons"] is None for c in graph)
    assert suppressed_somewhere  # the fixture's threshold (3) hides small cells in these tables

    repeated = gql(client, auth, STATS_QUERY, {"groupBy": ["YEAR", "YEAR"]})
    assert error_codes(repeated) == ["stats.repeated_dimension"]
    bad_year = gql(client, auth, STATS_QUERY, {"groupBy": ["YEAR"], "filter": {"year": 3000}})
    assert error_codes(bad_year) == ["request.invalid"]


def test_stats_answers_are_cached_until_a_refresh(
    client: TestClient, token: Token, orgs: dict[str, str], db: Engine
) -> None:
    # 8 persons: perturbed by at most 4 (register.disclosure), never under the fixture's threshold 3
    for seed in range(8):
        make_learner(db, courses=2, organisations=1, seed=200 + seed)
    auth = token(orgs["analyst"], STATS)

    def national() -> int:
        [cell] = data_of(gql(client, auth, STATS_QUERY, {"groupBy": []}))["stats"]
        assert cell["perturbed"] is True
        return int(cell["persons"])

    first = national()
    assert abs(first - 8) <= disclosure.COUNT_NOISE
    with db.begin() as conn:  # behind the register's back, without a refresh: the cached answer stands
        conn.execute(text("UPDATE stats_cell SET persons = persons + 100"))
    assert national() == first
    make_learner(db, courses=2, organisations=1, seed=300)  # its import refreshes: the version moves
    assert abs(national() - 109) <= disclosure.COUNT_NOISE
