"""No N+1: the statements a person query costs do not grow with the person's achievements or
organisations (counted with a SQLAlchemy event listener on the app's engine)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.conftest import READ, Token
from tests.api.graphql.conftest import count_statements, data_of, gql, make_learner

# Everything a portal could ask for, including what goes through DataLoaders (identifiers, the
# organisations' codes) and a walk back up through partOf.
FULL = """
fragment A on Achievement {
  id sector kind year term version completedOn
  specification { id kind code title { nb nn en } description { nb } credits { value scheme } level { nkr eqf }
                  nusCode iscedfCode learningOutcomes }
  organisation { orgnr name nameEn kind country codes { scheme value } deliversFor }
  grade { asDelivered scheme passed }
  credits { value scheme }
  level { nkr eqf }
}
query($nin: String!) {
  person(nin: $nin) {
    id name { given family } birthDate identifiers { kind scheme value validFrom validTo }
    achievements(first: 500) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { ...A parts { ...A partOf { id organisation { codes { value } } } } } }
    }
    courses: achievements(kind: [COURSE_RESULT], passedOnly: true, first: 500) {
      nodes { id partOf { id kind } }
    }
  }
}
"""


def _statements(client: TestClient, auth: str, db: Engine, nin: str) -> tuple[int, dict]:
    with count_statements(db) as counter:
        data = data_of(gql(client, auth, FULL, {"nin": nin}))
    return counter.count, data


def test_statement_count_is_constant_from_3_to_300_achievements(
    client: TestClient, token: Token, portal: str, db: Engine
) -> None:
    small = make_learner(db, courses=2, organisations=1, seed=31)
    large = make_learner(db, courses=288, organisations=12, seed=32, failed_every=7)
    auth = token(portal, READ)

    small_count, small_data = _statements(client, auth, db, small.nin)
    large_count, large_data = _statements(client, auth, db, large.nin)

    # The large person really came back whole: 12 degrees, 288 courses, 12 organisations.
    edges = large_data["person"]["achievements"]["edges"]
    assert len(edges) == 12 and sum(len(e["node"]["parts"]) for e in edges) == 288
    assert len({e["node"]["organisation"]["orgnr"] for e in edges}) == 12
    assert len(large_data["person"]["courses"]["nodes"]) == 288 - 288 // 7
    assert len(small_data["person"]["achievements"]["edges"]) == 1

    assert large_count == small_count
    # nin → person id, person, identifiers, two achievement reads (filters differ) of one statement
    # each, organisations with codes (the audit row goes on the driver connection, unseen here).
    assert small_count <= 12, small_count


def test_two_people_in_one_request_share_the_batched_loads(
    client: TestClient, token: Token, portal: str, db: Engine
) -> None:
    first = make_learner(db, courses=3, organisations=2, seed=33)
    second = make_learner(db, courses=30, organisations=6, seed=34)
    auth = token(portal, READ)
    one = "query($a: String!) { a: person(nin: $a) { identifiers { value } achievements { nodes { organisation { codes { value } } } } } }"
    two = (
        "query($a: String!, $b: String!) {"
        " a: person(nin: $a) { identifiers { value } achievements { nodes { organisation { codes { value } } } } }"
        " b: person(nin: $b) { identifiers { value } achievements { nodes { organisation { codes { value } } } } } }"
    )
    with count_statements(db) as single:
        data_of(gql(client, auth, one, {"a": first.nin}))
    with count_statements(db) as double:
        data = data_of(gql(client, auth, two, {"a": first.nin, "b": second.nin}))
    assert data["b"]["identifiers"] == [{"value": second.nin}]
    # The second person adds their own id look-up and achievement read (one statement, the read model's);
    # identifiers, persons and
    # organisations stay one statement each for both. (Their audit row goes out in one pipeline on the
    # driver connection, which this listener does not see; tests/api/test_audit_hash.py checks it.)
    per_person = 1 + 1
    assert double.count == single.count + per_person
