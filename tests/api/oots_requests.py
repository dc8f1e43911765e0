"""EDM requests for the OOTS tests, shaped as the real 2.0 request (oots-france ``requete.xml``) is."""

from __future__ import annotations

import email
import email.policy
import io
import uuid
from dataclasses import dataclass

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine

from intake.batches import run_import
from register.oots.catalogue import CLASSIFICATION_BASE, evidence_type_by_key
from register.persons import person_id_by_nin
from register.settings import Settings
from tests.api.conftest import bearer, vocational_csv

OOTS = "kompetanse:oots"
EBRS = "application/x-ebrs+xml"
NS = {
    "query": "urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0",
    "rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0",
    "rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0",
    "sdg": "http://data.europa.eu/p4s",
    "xlink": "http://www.w3.org/1999/xlink",
}
VOCATIONAL = evidence_type_by_key("vocational-education-qualification")


def edm_request(
    *,
    identifier: str | None = None,
    family: str = "Berg",
    given: str = "Emil",
    birth: str | None = "1990-05-17",
    loa: str = "High",
    preview_location: str | None = None,
    classification: str = CLASSIFICATION_BASE + VOCATIONAL.classification,
    requirement: str = "https://sr.oots.tech.ec.europa.eu/requirements/dc4dbfb4-d1d8-429c-8379-458ace858947",
    format: str = "application/xml",
    spec: str = "oots-edm:v2.0",
    preview: bool = True,
) -> bytes:
    person = f'<sdg:Identifier schemeID="eidas">{identifier}</sdg:Identifier>' if identifier else ""
    person += f"<sdg:FamilyName>{family}</sdg:FamilyName><sdg:GivenName>{given}</sdg:GivenName>"
    person += f"<sdg:DateOfBirth>{birth}</sdg:DateOfBirth>" if birth else ""
    location = (
        f"""<rim:Slot name="PreviewLocation"><rim:SlotValue xsi:type="rim:StringValueType">
        <rim:Value>{preview_location}</rim:Value></rim:SlotValue></rim:Slot>"""
        if preview_location
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<query:QueryRequest xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:rs="{NS["rs"]}" xmlns:sdg="{NS["sdg"]}" xmlns:rim="{NS["rim"]}" xmlns:query="{NS["query"]}"
    xmlns:xlink="{NS["xlink"]}" id="urn:uuid:{uuid.uuid4()}">
  <rim:Slot name="SpecificationIdentifier"><rim:SlotValue xsi:type="rim:StringValueType">
    <rim:Value>{spec}</rim:Value></rim:SlotValue></rim:Slot>
  <rim:Slot name="IssueDateTime"><rim:SlotValue xsi:type="rim:DateTimeValueType">
    <rim:Value>2026-12-05T10:00:00.000Z</rim:Value></rim:SlotValue></rim:Slot>
  <rim:Slot name="Procedure"><rim:SlotValue xsi:type="rim:StringValueType">
    <rim:Value>S3</rim:Value></rim:SlotValue></rim:Slot>
  {location}
  <rim:Slot name="PossibilityForPreview"><rim:SlotValue xsi:type="rim:BooleanValueType">
    <rim:Value>{"true" if preview else "false"}</rim:Value></rim:SlotValue></rim:Slot>
  <rim:Slot name="ExplicitRequestGiven"><rim:SlotValue xsi:type="rim:BooleanValueType">
    <rim:Value>true</rim:Value></rim:SlotValue></rim:Slot>
  <rim:Slot name="Requirements">
    <rim:SlotValue xsi:type="rim:CollectionValueType" collectionType="urn:oasis:names:tc:ebxml-regrep:CollectionType:Set">
      <rim:Element xsi:type="rim:AnyValueType"><sdg:Requirement>
        <sdg:Identifier>{requirement}</sdg:Identifier>
        <sdg:Name lang="EN">Proof of vocational education qualification</sdg:Name>
      </sdg:Requirement></rim:Element></rim:SlotValue></rim:Slot>
  <rim:Slot name="EvidenceRequester">
    <rim:SlotValue xsi:type="rim:CollectionValueType" collectionType="urn:oasis:names:tc:ebxml-regrep:CollectionType:Set">
      <rim:Element xsi:type="rim:AnyValueType"><sdg:Agent>
        <sdg:Identifier schemeID="urn:cef.eu:names:identifier:EAS:0009">00000000000002</sdg:Identifier>
        <sdg:Name lang="FR">Université de Test</sdg:Name>
        <sdg:Address><sdg:AdminUnitLevel1>FR</sdg:AdminUnitLevel1></sdg:Address>
        <sdg:Classification>ER</sdg:Classification>
      </sdg:Agent></rim:Element></rim:SlotValue></rim:Slot>
  <query:ResponseOption returnType="LeafClassWithRepositoryItem"/>
  <query:Query queryDefinition="DocumentQuery">
    <rim:Slot name="NaturalPerson"><rim:SlotValue xsi:type="rim:AnyValueType">
      <sdg:Person><sdg:LevelOfAssurance>{loa}</sdg:LevelOfAssurance>{person}</sdg:Person>
    </rim:SlotValue></rim:Slot>
    <rim:Slot name="EvidenceRequest"><rim:SlotValue xsi:type="rim:AnyValueType">
      <sdg:DataServiceEvidenceType>
        <sdg:Identifier>{uuid.uuid4()}</sdg:Identifier>
        <sdg:EvidenceTypeClassification>{classification}</sdg:EvidenceTypeClassification>
        <sdg:Title lang="EN">Vocational qualification</sdg:Title>
        <sdg:DistributedAs><sdg:Format>{format}</sdg:Format></sdg:DistributedAs>
      </sdg:DataServiceEvidenceType>
    </rim:SlotValue></rim:Slot>
  </query:Query>
</query:QueryRequest>""".encode()


@dataclass
class Reply:
    status: int
    content_type: str
    document: etree._Element
    raw: bytes
    parts: dict[str, tuple[str, bytes]]  # Content-ID → (media type, bytes), the evidence parts

    @property
    def code(self) -> str | None:
        exception = self.document.find("rs:Exception", NS)
        return exception.get("code") if exception is not None else None

    @property
    def preview_location(self) -> str | None:
        return self.document.findtext(
            "rs:Exception/rim:Slot[@name='PreviewLocation']/rim:SlotValue/rim:Value", namespaces=NS
        )


def post_query(client: TestClient, token: str, body: bytes) -> Reply:
    response = client.post("/oots/v2/query", content=body, headers={**bearer(token), "content-type": EBRS})
    assert response.status_code == 200, response.text
    content_type = response.headers["content-type"]
    parts: dict[str, tuple[str, bytes]] = {}
    if content_type.startswith("multipart/related"):
        message = email.message_from_bytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + response.content,
            policy=email.policy.HTTP,
        )
        found = list(message.iter_parts())
        root = found[0].get_payload(decode=True)
        for part in found[1:]:
            parts[part["Content-ID"].strip("<>")] = (part.get_content_type(), part.get_payload(decode=True))
    else:
        assert content_type == EBRS
        root = response.content
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return Reply(response.status_code, content_type, etree.fromstring(root, parser), root, parts)


def person_with_results(db: Engine, settings: Settings, fagskole: str, nin: str, birth: str = "1990-05-17"):
    """A person with a fagskole vitnemål of three courses (all B), with a birth date as delivered."""
    report = run_import(
        db,
        io.BytesIO(vocational_csv(fagskole, nin, prefix=f"VM{nin}")),
        sector="vocational",
        provider_orgnr=fagskole,
        settings=settings,
    )
    assert report.rejected == 0
    with db.begin() as conn:
        person_id = person_id_by_nin(conn, nin, allow_synthetic=True)
        conn.exec_driver_sql("UPDATE person SET birth_date = %s WHERE id = %s", (birth, person_id))
    return person_id
