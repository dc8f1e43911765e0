"""OOTS answers beyond the golden flow: person matching (unique, ambiguous, absent, too weak), the real
example requests, hostile XML, and the 2.0 response compared element for element with a real one."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine

from register.oots.validation import validator
from register.settings import Settings
from tests.api.oots_requests import EBRS, NS, OOTS, edm_request, person_with_results, post_query
from tests.conftest import FORMATS_DIR
from tests.factories import new_nin

MESSAGES = FORMATS_DIR / "oots" / "messages"
TDD = MESSAGES / "edm-1.0-tdd-2022q4" / "secondary-education"
FR = MESSAGES / "edm-2.0-oots-france"
BASE = "https://register.test"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"oots_public_base_url": BASE})


@pytest.fixture
def connector(token, orgs: dict[str, str]) -> str:
    return token(orgs["portal"], OOTS)


def _audit_rows(db: Engine, person_id: uuid.UUID | None, edm_request_id: str) -> list[dict]:
    with db.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT person_id, details FROM audit_event WHERE action = 'oots.query'"
            " AND details->>'edm_request_id' = %s",
            (edm_request_id,),
        ).all()
    assert all(r.person_id == person_id for r in rows)
    return [r.details for r in rows]


def _request_id(body: bytes) -> str:
    return etree.fromstring(body).get("id")


# --- person matching --------------------------------------------------------------------------------


def test_unique_match_by_names_and_birth_date(
    client: TestClient, connector: str, db: Engine, api_settings: Settings, orgs: dict[str, str]
) -> None:
    nin = new_nin()
    person_id = person_with_results(db, api_settings, orgs["own"], nin, birth="1988-02-29")
    body = edm_request(identifier="FR/NO/123123123", family="BERG", given="emil", birth="1988-02-29")
    reply = post_query(client, connector, body)
    assert reply.code == "EDM:ERR:0002"
    [row] = _audit_rows(db, person_id, _request_id(body))
    assert row["match"] == "matched_by_attributes"
    # Found by attributes, so the evidence will not carry the Norwegian national id (page shows it all).
    from tests.api.test_oots_flow import _login, _path

    _login(client, db, person_id)
    page = client.get(_path(reply.preview_location))
    assert "Emne 1" in page.text and nin not in page.text


def test_ambiguous_match_is_not_found_and_audited_without_a_person(
    client: TestClient, connector: str, db: Engine, api_settings: Settings, orgs: dict[str, str]
) -> None:
    for _ in range(2):
        person_with_results(db, api_settings, orgs["own"], new_nin(), birth="1979-12-24")
    body = edm_request(birth="1979-12-24")
    reply = post_query(client, connector, body)
    assert reply.code == "EDM:ERR:0004"
    [row] = _audit_rows(db, None, _request_id(body))
    assert row["match"] == "ambiguous" and row["outcome"] == "oots.person_not_found"


def test_absent_person_and_unknown_national_id(client: TestClient, connector: str, db: Engine) -> None:
    for body in (edm_request(birth="1900-01-01"), edm_request(identifier=f"NO/FR/{new_nin()}")):
        reply = post_query(client, connector, body)
        assert reply.code == "EDM:ERR:0004"
        [row] = _audit_rows(db, None, _request_id(body))
        assert row["match"] == "absent"
        assert "NO/FR" not in str(row)


def test_too_low_an_assurance_finds_no_one(
    client: TestClient, connector: str, db: Engine, api_settings: Settings, orgs: dict[str, str]
) -> None:
    nin = new_nin()
    person_with_results(db, api_settings, orgs["own"], nin)
    body = edm_request(identifier=f"NO/FR/{nin}", loa="Low")
    reply = post_query(client, connector, body)
    assert reply.code == "EDM:ERR:0004"
    assert _audit_rows(db, None, _request_id(body))[0]["match"] == "assurance_too_low"


# --- what the register does not serve ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code", "reason"),
    [
        ({"spec": "oots-edm:v9.9"}, "EDM:ERR:0007", "oots.unsupported_specification"),
        ({"classification": "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/NO/x"},
         "EDM:ERR:0007", "oots.unsupported_evidence_type"),
        ({"requirement": "https://sr.oots.tech.ec.europa.eu/requirements/2d21a531-d30e-4e30-9e5e-b53d6aedb30b"},
         "EDM:ERR:0007", "oots.unsupported_requirement"),
        ({"format": "application/pdf"}, "EDM:ERR:0007", "oots.unsupported_distribution"),
        ({"preview": False}, "EDM:ERR:0007", "oots.preview_needed"),
    ],
)  # fmt: skip
def test_what_cannot_be_served(
    client: TestClient, connector: str, db: Engine, overrides: dict, code: str, reason: str
) -> None:
    body = edm_request(**overrides)
    reply = post_query(client, connector, body)
    assert reply.code == code
    report = validator().validate(reply.raw)
    assert report.schema_valid, report.schema_errors
    if overrides.get("spec") != "oots-edm:v9.9":
        assert _audit_rows(db, None, _request_id(body))[0]["outcome"] == reason


# --- the real example requests -------------------------------------------------------------------------


def test_the_real_2_0_request_is_answered_unsupported(client: TestClient, connector: str) -> None:
    """oots-france's request asks a Berlin office for a birth certificate: not an evidence type of ours."""
    reply = post_query(client, connector, (FR / "requete.xml").read_bytes())
    assert reply.code == "EDM:ERR:0007"
    assert reply.document.get("requestId") == "urn:uuid:1a2b3c4d-0000-4000-8000-000000000000"
    report = validator().validate(reply.raw)
    assert report.schema_valid and report.failed_ids() <= {"R-EDM-ERR-S004"}


@pytest.mark.parametrize("name", ["oots_request1_preview.xml", "oots_request2_after_preview.xml"])
def test_the_real_1_0_requests_are_answered(client: TestClient, connector: str, name: str) -> None:
    """The TDD's secondary-education requests: the type is ours, but as PDF, which the register does not
    make — an unsupported distribution, in the 1.0 shape, valid against the 1.0 profile and rules."""
    reply = post_query(client, connector, (TDD / name).read_bytes())
    assert reply.code == "EDM:ERR:0007"
    assert "application/pdf" in reply.document.find("rs:Exception", NS).get("detail")
    report = validator().validate(reply.raw)
    assert report.schema_valid, report.schema_errors
    assert report.failed_ids() == set(), report.failed_asserts


def test_the_1_0_flow_validates_against_the_1_0_rules(
    client: TestClient, connector: str, db: Engine, api_settings: Settings, orgs: dict[str, str]
) -> None:
    """The TDD request, asking for our ELMO for a person of ours: every answer passes the 2022-Q4 rules."""
    nin = new_nin()
    person_id = person_with_results(db, api_settings, orgs["own"], nin)
    from register.oots.catalogue import CLASSIFICATION_BASE, evidence_type_by_key

    vocational = (
        CLASSIFICATION_BASE + evidence_type_by_key("vocational-education-qualification").classification
    )
    text = (TDD / "oots_request1_preview.xml").read_text()
    text = text.replace("DK/DE/123456", f"NO/DE/{nin}").replace("application/pdf", "application/xml")
    text = text.replace(">SecondaryEducationCompletion<", f">{vocational}<")
    text = text.replace("315cfd75-6605-49c4-b0fe-799833b41099", "dc4dbfb4-d1d8-429c-8379-458ace858947")
    first = post_query(client, connector, text.encode())
    assert first.code == "EDM:ERR:0002"
    report = validator().validate(first.raw)
    assert report.schema_valid and report.failed_ids() == set(), report.failed_asserts
    assert first.document.find("rs:Exception", NS).get("severity").startswith("urn:sr.oots.tech.europa.eu:")

    from tests.api.test_oots_flow import _csrf, _login, _path

    _login(client, db, person_id)
    page = client.get(_path(first.preview_location))
    client.post(_path(first.preview_location), data={"decision": "approve", "csrf_token": _csrf(page.text)})
    location_slot = (
        '<rim:Slot name="PreviewLocation"><rim:SlotValue xsi:type="rim:StringValueType">'
        f"<rim:Value>{first.preview_location}</rim:Value></rim:SlotValue></rim:Slot>"
    )
    second_text = text.replace(
        '<rim:Slot name="PossibilityForPreview">', location_slot + '<rim:Slot name="PossibilityForPreview">'
    )
    second = post_query(client, connector, second_text.encode())
    assert second.code is None
    report = validator().validate(second.raw)
    assert report.schema_valid, report.schema_errors
    assert report.failed_ids() == set(), report.failed_asserts
    assert (
        second.document.find("rim:RegistryObjectList/rim:RegistryObject", NS).get(
            f"{{{'http://www.w3.org/2001/XMLSchema-instance'}}}type"
        )
        == "rim:ExtrinsicObjectType"
    )


def _shape(root: etree._Element) -> set[str]:
    """Every element path (slots by name, xsi:type kept), without text: what 'element for element' compares."""
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    found: set[str] = set()

    def walk(element: etree._Element, path: str) -> None:
        name = etree.QName(element).localname
        if element.get("name"):
            name += f"[{element.get('name')}]"
        if element.get(xsi):
            name += f"<{element.get(xsi)}>"
        here = f"{path}/{name}"
        found.add(here)
        for child in element:
            if isinstance(child.tag, str):
                walk(child, here)

    walk(root, "")
    return found


def test_the_2_0_response_follows_the_real_one_element_for_element(
    client: TestClient, connector: str, db: Engine, api_settings: Settings, orgs: dict[str, str]
) -> None:
    from tests.api.test_oots_flow import _csrf, _login, _path

    nin = new_nin()
    person_id = person_with_results(db, api_settings, orgs["own"], nin)
    first = post_query(client, connector, edm_request(identifier=f"NO/FR/{nin}"))
    reference_error = _shape(etree.parse(str(FR / "erreurAutorisationRequise.payload.xml")).getroot())
    # The reference preview error is a hand-written minimal one (docs/oots.md): ours has all of it.
    assert reference_error <= _shape(first.document)
    _login(client, db, person_id)
    page = client.get(_path(first.preview_location))
    client.post(_path(first.preview_location), data={"decision": "approve", "csrf_token": _csrf(page.text)})
    second = post_query(
        client, connector, edm_request(identifier=f"NO/FR/{nin}", preview_location=first.preview_location)
    )
    reference = _shape(etree.parse(str(FR / "reponse.xml")).getroot())
    ours = _shape(second.document)
    # What the register writes beyond the reference: the ConformsTo of the ELMO distribution and the
    # evidence type's description (both optional in the profile).
    extra = {p for p in ours - reference if not p.endswith(("/ConformsTo", "/Description"))}
    assert reference - ours == set()
    assert extra == set()
    error = post_query(client, connector, edm_request(birth="1900-01-01"))
    assert _shape(etree.parse(str(FR / "erreur.xml")).getroot()) == _shape(error.document)


# --- hostile XML --------------------------------------------------------------------------------------

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<query:QueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0" id="x">&lol3;</query:QueryRequest>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<query:QueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0" id="x">&xxe;</query:QueryRequest>"""
DEEP = (
    b'<query:QueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0" id="x">'
    + b"<a>" * 200 + b"</a>" * 200 + b"</query:QueryRequest>"
)  # fmt: skip
# The right local names under the wrong namespaces: prefixes decide nothing.
WRONG_NAMESPACE = edm_request().replace(
    b"urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0", b"urn:example:query"
)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (LAUGHS, "oots.xml_doctype"),
        (EXTERNAL, "oots.xml_doctype"),
        (DEEP, "oots.xml_too_deep"),
        (b"<query:QueryRequest", "oots.xml_malformed"),
        (WRONG_NAMESPACE, "oots.not_a_query_request"),
    ],
    ids=["billion-laughs", "external-entity", "depth", "malformed", "wrong-namespace"],
)
def test_hostile_xml_is_refused(
    client: TestClient, connector: str, db: Engine, body: bytes, reason: str
) -> None:
    reply = post_query(client, connector, body)
    assert reply.code == "EDM:ERR:0003"
    assert b"root:" not in reply.raw and b"lollol" not in reply.raw
    report = validator().validate(reply.raw)  # even an answer to garbage is a valid EDM message
    assert report.schema_valid, report.schema_errors
    with db.connect() as conn:
        outcome = conn.exec_driver_sql(
            "SELECT details->>'outcome' FROM audit_event WHERE action = 'oots.query' ORDER BY id DESC LIMIT 1"
        ).scalar_one()
    assert outcome == reason


def test_prefixes_do_not_matter(
    client: TestClient, connector: str, db: Engine, api_settings: Settings, orgs
) -> None:
    nin = new_nin()
    person_with_results(db, api_settings, orgs["own"], nin)
    body = edm_request(identifier=f"NO/FR/{nin}")
    for prefix, other in ((b"query", b"q"), (b"rim", b"r"), (b"sdg", b"s")):
        for where in (b"<%s:", b"</%s:", b"xmlns:%s="):
            body = body.replace(where % prefix, where % other)
    # xsi:type values are QNames read by schema validators: kept resolvable under the old prefix.
    body = body.replace(b"<r:Slot ", b'<r:Slot xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0" ')
    assert post_query(client, connector, body).code == "EDM:ERR:0002"


def test_an_oversized_request_is_refused_before_it_is_read(client: TestClient, connector: str) -> None:
    response = client.post(
        "/oots/v2/query",
        content=b"<a>" + b" " * (1024**2 + 1) + b"</a>",
        headers={"Authorization": f"Bearer {connector}", "content-type": EBRS},
    )
    assert response.status_code == 413 and response.json()["code"] == "oots.too_large"


def test_production_without_a_preview_address_takes_no_request(
    db: Engine, api_settings: Settings, token, orgs: dict[str, str]
) -> None:
    from fastapi.testclient import TestClient as Client

    from api.app import create_app

    production = api_settings.model_copy(update={"environment": "production", "oots_public_base_url": None})
    with Client(create_app(production, engine=db), raise_server_exceptions=False) as client:
        response = client.post(
            "/oots/v2/query",
            content=edm_request(),
            headers={"Authorization": f"Bearer {token(orgs['portal'], OOTS)}", "content-type": EBRS},
        )
        assert response.status_code == 503 and response.json()["code"] == "oots.not_configured"
        # Nor is the development login there to be used.
        assert client.get("/oots/dev-login").status_code == 404
