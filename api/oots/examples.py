"""Examples of the OOTS connector's messages for the OpenAPI document (abridged: docs/oots.md and the
real messages under tests/fixtures/formats/oots/ show them whole)."""

from __future__ import annotations

from register.namespaces import ELMO_NS

QUERY_REQUEST = """<?xml version="1.0" encoding="UTF-8"?>
<query:QueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0"
    xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0" xmlns:sdg="http://data.europa.eu/p4s"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="urn:uuid:1a2b3c4d-0000-4000-8000-000000000000">
  <rim:Slot name="SpecificationIdentifier"><rim:SlotValue xsi:type="rim:StringValueType">
    <rim:Value>oots-edm:v2.0</rim:Value></rim:SlotValue></rim:Slot>
  <rim:Slot name="PossibilityForPreview"><rim:SlotValue xsi:type="rim:BooleanValueType">
    <rim:Value>true</rim:Value></rim:SlotValue></rim:Slot>
  <!-- … Procedure, ExplicitRequestGiven, Requirements, EvidenceRequester, EvidenceProvider … -->
  <query:ResponseOption returnType="LeafClassWithRepositoryItem"/>
  <query:Query queryDefinition="DocumentQuery">
    <!-- … NaturalPerson (eIDAS identifier or names and date of birth), EvidenceRequest … -->
  </query:Query>
</query:QueryRequest>
"""

PREVIEW_REQUIRED = """<?xml version='1.0' encoding='UTF-8'?>
<query:QueryResponse xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0"
    xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    requestId="urn:uuid:1a2b3c4d-0000-4000-8000-000000000000"
    status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure">
  <!-- … SpecificationIdentifier, EvidenceResponseIdentifier, ErrorProvider … -->
  <rs:Exception xsi:type="rs:AuthorizationExceptionType" code="EDM:ERR:0002" severity="urn:sr.oots.tech.ec.europa.eu:codes:ErrorSeverity:EDMErrorResponse:PreviewRequired"
      message="The evidence can be sent after the person has seen it">
    <rim:Slot name="PreviewLocation"><rim:SlotValue xsi:type="rim:StringValueType">
      <rim:Value>https://kompetanseregisteret.no/oots/preview/…</rim:Value></rim:SlotValue></rim:Slot>
  </rs:Exception>
</query:QueryResponse>
"""

EVIDENCE_RESPONSE = f"""--oots-evidence
Content-Type: application/x-ebrs+xml
Content-ID: <response>

<query:QueryResponse … status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success">
  … <rim:RepositoryItemRef xlink:href="cid:evidence-1@kompetanseregisteret.no"/> …
</query:QueryResponse>
--oots-evidence
Content-Type: application/xml
Content-ID: <evidence-1@kompetanseregisteret.no>

<elmo xmlns="{ELMO_NS}">… signed …</elmo>
--oots-evidence--
"""
