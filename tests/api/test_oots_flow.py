"""The two-step OOTS preview flow over HTTP: request → EDM:ERR:0002 with a PreviewLocation → the citizen
logs in, sees the evidence, approves or refuses → the request with the PreviewLocation gets the evidence
(or the matching error). Every message produced is validated; the exchange shows in the person's log."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from signxml import XMLVerifier
from sqlalchemy import Engine

from register import sessions
from register.audit import accesses_to_person
from register.exports.signing import required_identity
from register.oots.validation import validator
from register.settings import Settings
from tests.api.oots_requests import EBRS, NS, OOTS, edm_request, person_with_results, post_query
from tests.factories import new_nin

BASE = "https://register.test"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"oots_public_base_url": BASE})


@pytest.fixture
def person(db: Engine, api_settings: Settings, orgs: dict[str, str]) -> tuple[str, uuid.UUID]:
    nin = new_nin()
    return nin, person_with_results(db, api_settings, orgs["own"], nin)


def _validates(raw: bytes, allowed: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    report = validator().validate(raw)
    assert report.schema_valid, report.schema_errors
    # 2.0 answers are checked against the 2022-Q4 rules too; the only rules they may break are those
    # whose 1.x shape 2.0 changed (urn:uuid: ids, the nested ExtrinsicObject): docs/oots.md.
    assert report.failed_ids() <= allowed, report.failed_asserts


def _login(client: TestClient, db: Engine, person_id: uuid.UUID) -> None:
    """A citizen session for the person, as the citizen login leaves one (the login itself, through the
    test identity provider, is tested in tests/citizen and in the browser test of the preview)."""
    with db.begin() as conn:
        login_token, _ = sessions.start_login(conn, {})
        token, _ = sessions.complete_login(conn, login_token, person_id, idle_minutes=30)
    client.cookies.set("kr_session", token)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found
    return found.group(1)


def _path(location: str) -> str:
    assert location.startswith(BASE + "/oots/preview/")
    return location.removeprefix(BASE)


def test_preview_approve_then_evidence(
    client: TestClient,
    token,
    orgs: dict[str, str],
    person: tuple[str, uuid.UUID],
    db: Engine,
    api_settings: Settings,
) -> None:
    nin, person_id = person
    connector = token(orgs["portal"], OOTS)
    first = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}"))
    assert first.code == "EDM:ERR:0002"
    _validates(first.raw, {"R-EDM-ERR-S004"})
    location = first.preview_location
    assert location is not None and location.startswith("https://")
    again = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}"))
    assert again.preview_location != location  # one location per request
    assert len(_path(location).rsplit("/", 1)[1]) >= 43  # 256 random bits, base64url

    page = client.get(_path(location))
    # the citizen login, coming back to this preview afterwards
    assert page.status_code == 401 and "/me/login/start?next=%2Foots%2Fpreview%2F" in page.text
    _login(client, db, person_id)
    page = client.get(_path(location) + "?lang=en")
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert '<html lang="en">' in page.text and "Université de Test" in page.text
    assert "Emne 0" in page.text and "Emne 2" in page.text  # the evidence that would travel
    assert nin not in location  # the page's address holds a token, never the national id
    assert "<script" not in page.text

    # A form without the CSRF token changes nothing.
    forged = client.post(_path(location), data={"decision": "approve"}, follow_redirects=False)
    assert forged.status_code == 400
    still = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}", preview_location=location))
    assert still.code == "EDM:ERR:0002" and still.preview_location == location

    decided = client.post(
        _path(location), data={"decision": "approve", "csrf_token": _csrf(page.text)}, follow_redirects=False
    )
    assert decided.status_code == 303
    assert "approved" in client.get(_path(location) + "?lang=en").text

    second = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}", preview_location=location))
    assert second.code is None
    assert second.document.get("status").endswith(":Success")
    assert second.content_type.startswith("multipart/related") and f'type="{EBRS}"' in second.content_type
    _validates(second.raw, {"R-EDM-RESP-S004", "R-EDM-RESP-S015", "R-EDM-RESP-S033"})
    href = second.document.find(".//rim:RepositoryItemRef", NS).get(f"{{{NS['xlink']}}}href")
    media_type, elmo = second.parts[href.removeprefix("cid:")]
    assert media_type == "application/xml"
    cert = required_identity(api_settings).cert_pem.decode()  # the register's one ELMO signing identity
    signed = XMLVerifier().verify(elmo, x509_cert=cert).signed_xml
    assert len(signed.findall(".//{*}learningOpportunitySpecification")) == 4  # the vitnemål and 3 courses
    classification = second.document.find(".//rim:Classification", NS)
    assert classification.get("classificationNode") == "MainEvidence"

    with db.connect() as conn:
        seen = [a.action for a in accesses_to_person(conn, person_id)]
    assert seen.count("oots.query") == 4  # both first requests, the one still pending, the one answered
    assert {"oots.preview_viewed", "oots.preview_decided"} <= set(seen)
    with db.connect() as conn:
        given = conn.exec_driver_sql(
            "SELECT details FROM audit_event WHERE person_id = %s AND details->>'outcome' = 'evidence_given'",
            (person_id,),
        ).scalar_one()
    assert len(given["achievements"]) == 4 and given["evidence_type"] == "vocational-education-qualification"
    assert nin not in str(given)


def test_refused_and_expired_previews(
    client: TestClient, token, orgs: dict[str, str], person: tuple[str, uuid.UUID], db: Engine
) -> None:
    nin, person_id = person
    connector = token(orgs["portal"], OOTS)
    refused = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}")).preview_location
    expired = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}")).preview_location
    assert refused and expired
    _login(client, db, person_id)
    page = client.get(_path(refused))
    assert '<html lang="nb">' in page.text and "Avslå" in page.text
    client.post(_path(refused), data={"decision": "refuse", "csrf_token": _csrf(page.text)})
    # A decision is final: approving afterwards changes nothing.
    client.post(_path(refused), data={"decision": "approve", "csrf_token": _csrf(page.text)})
    answer = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}", preview_location=refused))
    assert answer.code == "EDM:ERR:0004"
    assert "refused" in answer.document.find("rs:Exception", NS).get("detail")
    _validates(answer.raw, {"R-EDM-ERR-S004"})

    with db.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE oots_preview SET expires_at = now() - interval '1 second' WHERE token = %s",
            (expired.rsplit("/", 1)[1],),
        )
    answer = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}", preview_location=expired))
    assert answer.code == "EDM:ERR:0005"
    assert "expired" in client.get(_path(expired) + "?lang=en").text


def test_a_preview_is_only_its_persons(
    client: TestClient,
    token,
    orgs: dict[str, str],
    person: tuple[str, uuid.UUID],
    db: Engine,
    api_settings: Settings,
) -> None:
    nin, _ = person
    other = new_nin()
    other_id = person_with_results(db, api_settings, orgs["own"], other, birth="1991-01-01")
    connector = token(orgs["portal"], OOTS)
    location = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}")).preview_location
    assert location
    _login(client, db, other_id)
    assert client.get(_path(location)).status_code == 404
    # Nor does another person's request get far with this person's location.
    answer = post_query(
        client, connector, edm_request(identifier=f"NO/FR/{other}", preview_location=location)
    )
    assert answer.code == "EDM:ERR:0003"
    # And a location this register never issued is refused the same way.
    made_up = post_query(
        client,
        connector,
        edm_request(identifier=f"NO/FR/{nin}", preview_location=BASE + "/oots/preview/x" * 2),
    )
    assert made_up.code == "EDM:ERR:0003"


def test_the_connector_is_authenticated(client: TestClient, token, orgs: dict[str, str]) -> None:
    body = edm_request(identifier="NO/FR/01010112345")
    assert client.post("/oots/v2/query", content=body, headers={"content-type": EBRS}).status_code == 401
    reader = token(orgs["portal"], "kompetanse:read")
    response = client.post(
        "/oots/v2/query", content=body, headers={"Authorization": f"Bearer {reader}", "content-type": EBRS}
    )
    assert response.status_code == 403 and response.json()["code"] == "auth.missing_scope"
    connector = token(orgs["portal"], OOTS)
    response = client.post(
        "/oots/v2/query",
        content=body,
        headers={"Authorization": f"Bearer {connector}", "content-type": "text/plain"},
    )
    assert response.status_code == 415 and response.json()["code"] == "oots.media_type"
