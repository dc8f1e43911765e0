"""National ids a client puts where they do not belong never come back: not in a response body, a log
record or an audit row. Each echo path an attacker found is tried with a synthetic national id."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from register.redaction import MASK, RedactingFormatter, redact
from tests.api.conftest import READ, STATS, Token, bearer
from tests.api.rows import new_person
from tests.factories import new_nin

NIN = new_nin(1414)  # synthetic (Tenor style), never delivered in these tests
PERSON = new_nin(1415)  # a known person, looked up with a hostile request id


def _leaks(body: str, nin: str) -> bool:
    """The national id, or its two halves written 6 + 5 apart, anywhere in ``body``."""
    return nin in body or nin[:6] + " " + nin[6:] in body or nin[:6] + "-" + nin[6:] in body


Probe = Callable[[TestClient, Token, dict[str, str]], httpx.Response]


def _graphql(client: TestClient, token: Token, orgs: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return client.post("/graphql", json=body, headers=bearer(token(orgs["analyst"], READ, STATS)))


PROBES: dict[str, Probe] = {
    "stats group_by": lambda c, t, o: c.get(
        "/v1/stats/achievements", params={"group_by": NIN}, headers=bearer(t(o["analyst"], STATS))
    ),
    "stats group_by, two dimensions": lambda c, t, o: c.get(
        "/v1/stats/achievements", params={"group_by": f"sector,{NIN}"}, headers=bearer(t(o["analyst"], STATS))
    ),
    "stats provider filter": lambda c, t, o: c.get(
        "/v1/stats/achievements", params={"provider": NIN}, headers=bearer(t(o["analyst"], STATS))
    ),
    "stats grade filter": lambda c, t, o: c.get(
        "/v1/stats/achievements", params={"grade": f"a-f:{NIN}"}, headers=bearer(t(o["analyst"], STATS))
    ),
    "stats level filter": lambda c, t, o: c.get(
        "/v1/stats/achievements", params={"nus": NIN}, headers=bearer(t(o["analyst"], STATS))
    ),
    "unknown JSON key": lambda c, t, o: c.post(
        "/v1/persons/lookup", json={"nin": PERSON, NIN: True}, headers=bearer(t(o["portal"], READ))
    ),
    "unknown JSON key, nested": lambda c, t, o: c.post(
        "/v1/persons/lookup",
        json={"nin": PERSON, "options": {NIN: 1}},
        headers=bearer(t(o["portal"], READ)),
    ),
    "nin written 6 + 5 as a key": lambda c, t, o: c.post(
        "/v1/persons/lookup",
        json={"nin": PERSON, NIN[:6] + " " + NIN[6:]: 1},
        headers=bearer(t(o["portal"], READ)),
    ),
    "path": lambda c, t, o: c.get(f"/v1/batches/{NIN}", headers=bearer(t(o["own"], "kompetanse:write"))),
    "graphql operationName": lambda c, t, o: _graphql(
        c, t, o, {"query": "query Q { __typename }", "operationName": NIN}
    ),
    "graphql alias": lambda c, t, o: _graphql(c, t, o, {"query": f"{{ _{NIN}: person(nin: 1) {{ id }} }}"}),
    "graphql group_by": lambda c, t, o: _graphql(
        c, t, o, {"query": f"{{ stats(groupBy: [X{NIN}]) {{ threshold }} }}"}
    ),
    "graphql group_by variable": lambda c, t, o: _graphql(
        c,
        t,
        o,
        {
            "query": "query($g: [StatsDimension!]!) { stats(groupBy: $g) { threshold } }",
            "variables": {"g": [NIN]},
        },
    ),
    "graphql filter value": lambda c, t, o: _graphql(
        c,
        t,
        o,
        {
            "query": "query($y: Int) { stats(groupBy: [SECTOR], filter: {year: $y}) { threshold } }",
            "variables": {"y": NIN},
        },
    ),
    "graphql unknown variable key": lambda c, t, o: _graphql(
        c, t, o, {"query": "{ __typename }", "variables": {NIN: 1}, NIN: 2}
    ),
}


@pytest.mark.parametrize("probe", list(PROBES))
def test_a_national_id_sent_anywhere_is_not_echoed(
    client: TestClient,
    token: Token,
    orgs: dict[str, str],
    db: Engine,
    caplog: pytest.LogCaptureFixture,
    probe: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    response = PROBES[probe](client, token, orgs)
    assert response.status_code < 500, response.text
    assert not _leaks(response.text, NIN), response.text
    # (httpx's own records, the test client's request lines, are the test's side, not the server's)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert not _leaks(logged, NIN)
    with db.connect() as conn:
        stored = conn.execute(
            text("SELECT coalesce(string_agg(a::text, ' '), '') FROM audit_event a")
        ).scalar_one()
    assert not _leaks(stored, NIN)


@pytest.mark.parametrize(
    "given",
    [
        NIN,
        f"req-{NIN}",
        f"{NIN}0",
        f"{NIN[:6]}-{NIN[6:]}",
        f"{NIN[:6]}.{NIN[6:]}",
        "x" * 65,
        "a b",
        "a/b",
        "",
    ],
)
def test_an_unusable_request_id_is_replaced_everywhere(
    client: TestClient,
    token: Token,
    orgs: dict[str, str],
    db: Engine,
    caplog: pytest.LogCaptureFixture,
    given: str,
) -> None:
    """An eleven-digit X-Request-ID was written to the access log and stored on the audit row."""
    caplog.set_level(logging.DEBUG)
    with db.begin() as conn:
        new_person(conn, PERSON)
    response = client.post(
        "/v1/persons/lookup",
        json={"nin": PERSON},
        headers=bearer(token(orgs["portal"], READ)) | {"X-Request-ID": given},
    )
    assert response.status_code in (200, 404), response.text
    used = response.headers["x-request-id"]
    assert used != given and response.headers["x-request-id-replaced"] == "true"
    with db.connect() as conn:
        stored = conn.execute(text("SELECT request_id FROM audit_event")).scalars().all()
    assert stored == [used] if response.status_code == 200 else not stored
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert used in logged
    if given.strip(".-x"):
        assert not _leaks(logged, NIN) and given not in logged


def test_a_usable_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "portal-2026.12.05_0001"})
    assert response.headers["x-request-id"] == "portal-2026.12.05_0001"
    assert "x-request-id-replaced" not in response.headers


@pytest.mark.parametrize(
    ("text_in", "expected"),
    [
        (f"nin {NIN} here", f"nin {MASK} here"),
        (f"{NIN[:6]} {NIN[6:]}", MASK),
        (f"{NIN[:6]}-{NIN[6:]}", MASK),
        (f"0{NIN}9", MASK),  # a longer run holds it
        ("org 974760673, batch 2f0c…", "org 974760673, batch 2f0c…"),  # nine digits are not a nin
        ("１２３４５６７８９０１", MASK),  # full-width digits
    ],
)
def test_redact(text_in: str, expected: str) -> None:
    assert redact(text_in) == expected


def test_redact_bounds_its_output_and_never_leaves_half_an_id_at_the_cut() -> None:
    long = "k" * 990 + NIN + "z" * 5000
    cut = redact(long)
    assert len(cut) <= 1000 and NIN[:6] not in cut and cut.endswith("…")


def test_redact_leaves_uuids_whole() -> None:
    """A batch id whose last group had eleven digits in a row came back as ``…-[redacted]d``."""
    batch = "268d2074-eb99-4a30-9ba3-12345678901d"
    assert redact(f"batch {batch} failed; {NIN}") == f"batch {batch} failed; {MASK}"
    assert redact(f"x{batch}") == f"x{batch}"


def test_log_records_and_lines_are_redacted(app: object, caplog: pytest.LogCaptureFixture) -> None:
    """Any argument type (an int holds eleven digits as well as a str) and the traceback."""
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError(f"driver quoted {NIN}")
    except ValueError:
        logging.getLogger("api.errors").exception("failed for %s and %d", NIN, int(NIN))
    logging.getLogger("api.errors").info("malformed call %s %s", NIN)  # one argument short
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "driver quoted" in logged and not _leaks(logged, NIN)
    line = RedactingFormatter("%(message)s").format(logging.makeLogRecord({"msg": "id %s", "args": (NIN,)}))
    assert line == f"id {MASK}"
