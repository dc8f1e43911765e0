"""Writing EDM responses: the evidence (``QueryResponse`` Success) and the errors (Failure + ``rs:Exception``).

Two shapes, chosen by the request's SpecificationIdentifier (docs/oots.md lists the differences):
- **2.0** follows the real 2.0 messages (oots-france's reference ``reponse.xml``/``erreur.xml``) element
  for element: the evidence's ``rim:ExtrinsicObjectType`` inside a ``rim:RegistryPackageType``, classified
  ``MainEvidence``; ``urn:uuid:`` object ids; agent classifications as codes (``EP``, ``ERRP``); the
  2.0 severity host for EDM:ERR:0002.
- **1.x** follows the TDD 2022-Q4 profile and rules: the ``ExtrinsicObjectType`` at the top of the list,
  bare UUIDs, classifications in words, and the preview error's ``PreviewDescription``/``PreviewMethod``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from register.namespaces import QUERY_NS, RIM_NS, RS_NS, SDG_NS, XLINK_NS, XSI_NS
from register.oots.catalogue import CLASSIFICATION_BASE, ELMO_CONFORMS_TO, ELMO_FORMAT, EvidenceType
from register.oots.codes import (
    FAILURE,
    PREVIEW_REQUIRED,
    SEVERITY_ERROR,
    SPEC_V2,
    SUCCESS,
    EdmError,
    EdmErrorCode,
)
from register.oots.request import Agent, EvidenceRequest, NaturalPerson
from register.settings import Settings

_Q, _R, _RS, _S = f"{{{QUERY_NS}}}", f"{{{RIM_NS}}}", f"{{{RS_NS}}}", f"{{{SDG_NS}}}"
_XSI_TYPE = f"{{{XSI_NS}}}type"
_XLINK = f"{{{XLINK_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {"query": QUERY_NS, "rim": RIM_NS, "rs": RS_NS, "sdg": SDG_NS, "xlink": XLINK_NS, "xsi": XSI_NS}
EAS_ORGNR = "urn:cef.eu:names:identifier:EAS:0192"  # a Norwegian organisasjonsnummer
_COLLECTION_SET = "urn:oasis:names:tc:ebxml-regrep:CollectionType:Set"


@dataclass(frozen=True, slots=True)
class Attachment:
    content_id: str  # without the ``cid:`` and the angle brackets
    media_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """The response document and the evidence parts that travel beside it (AS4 payloads)."""

    document: bytes
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every response repeats of its request, for an answer to one that could not be read too."""

    request_id: str | None
    specification: str
    requester: Agent | None

    @property
    def v2(self) -> bool:
        return self.specification == SPEC_V2

    @classmethod
    def of(cls, request: EvidenceRequest) -> Envelope:
        return cls(request.request_id, request.specification, request.requester)


def error_answer(
    envelope: Envelope,
    error: EdmError,
    settings: Settings,
    *,
    preview_location: str | None = None,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Answer:
    root = _response(envelope, FAILURE, new_id)
    provider = _slot(root, "ErrorProvider", "rim:AnyValueType")
    _provider_agent(provider, settings, "ERRP" if envelope.v2 else "EvidenceProvider", address=True)
    if envelope.requester is not None:
        _requester_slot(root, envelope.requester)
    edm = error.edm.value
    preview = error.edm is EdmErrorCode.PREVIEW_REQUIRED
    exception = etree.SubElement(root, f"{_RS}Exception")
    exception.set(_XSI_TYPE, edm.exception_type)
    exception.set("code", edm.code)
    exception.set("message", edm.message)
    exception.set("detail", error.detail)
    exception.set("severity", PREVIEW_REQUIRED["v2" if envelope.v2 else "v1"] if preview else SEVERITY_ERROR)
    _value(exception, "Timestamp", "rim:DateTimeValueType", _now())
    if preview_location is not None:
        _value(exception, "PreviewLocation", "rim:StringValueType", preview_location)
        if not envelope.v2:
            description = _slot(exception, "PreviewDescription", "rim:InternationalStringValueType")
            texts = etree.SubElement(description[0], f"{_R}Value")
            for lang, words in (
                ("en", "Log in with ID-porten, look at the evidence and approve or refuse sending it."),
                ("nb", "Logg inn med ID-porten, se dokumentasjonen og godkjenn eller avslå at den sendes."),
            ):
                etree.SubElement(texts, f"{_R}LocalizedString", {XML_LANG: lang, "value": words})
            _value(exception, "PreviewMethod", "rim:StringValueType", "GET")
    return Answer(_bytes(root))


def evidence_answer(
    request: EvidenceRequest,
    evidence_type: EvidenceType,
    document: bytes,
    settings: Settings,
    *,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Answer:
    envelope = Envelope.of(request)
    root = _response(envelope, SUCCESS, new_id)
    _value(root, "IssueDateTime", "rim:DateTimeValueType", _now())
    providers = _slot(root, "EvidenceProvider", "rim:CollectionValueType")
    providers[0].set("collectionType", _COLLECTION_SET)
    element = etree.SubElement(providers[0], f"{_R}Element", {_XSI_TYPE: "rim:AnyValueType"})
    _agent(element, _provider(settings), "EP" if envelope.v2 else "EvidenceProvider", address=True)
    _requester_slot(root, request.requester or Agent("", None, None, None))

    content_id = f"{new_id()}@evidence.{settings.oots_provider_orgnr}.no"
    objects = etree.SubElement(root, f"{_R}RegistryObjectList")
    if envelope.v2:
        package = etree.SubElement(
            objects,
            f"{_R}RegistryObject",
            {_XSI_TYPE: "rim:RegistryPackageType", "id": _id(envelope, new_id)},
        )
        objects = etree.SubElement(package, f"{_R}RegistryObjectList")
    extrinsic = etree.SubElement(
        objects, f"{_R}RegistryObject", {_XSI_TYPE: "rim:ExtrinsicObjectType", "id": _id(envelope, new_id)}
    )
    metadata = _slot(extrinsic, "EvidenceMetadata", "rim:AnyValueType")
    _evidence_metadata(metadata[0], request.person, evidence_type, settings, new_id)
    if envelope.v2:
        etree.SubElement(
            extrinsic,
            f"{_R}Classification",
            {
                "id": _id(envelope, new_id),
                "classificationScheme": "urn:fdc:oots:classification:edm",
                "classificationNode": "MainEvidence",
            },
        )
    etree.SubElement(
        extrinsic,
        f"{_R}RepositoryItemRef",
        {f"{_XLINK}href": f"cid:{content_id}", f"{_XLINK}title": "Evidence"},
    )
    return Answer(_bytes(root), (Attachment(content_id, ELMO_FORMAT, document),))


# --- parts ------------------------------------------------------------------------------------------


def _response(envelope: Envelope, status: str, new_id: Callable[[], uuid.UUID]) -> etree._Element:
    root = etree.Element(f"{_Q}QueryResponse", nsmap=NSMAP)
    root.set("status", status)
    if envelope.request_id:
        root.set("requestId", envelope.request_id)
    _value(root, "SpecificationIdentifier", "rim:StringValueType", envelope.specification)
    _value(root, "EvidenceResponseIdentifier", "rim:StringValueType", str(new_id()))
    return root


def _id(envelope: Envelope, new_id: Callable[[], uuid.UUID]) -> str:
    return f"urn:uuid:{new_id()}" if envelope.v2 else str(new_id())


def _slot(parent: etree._Element, name: str, value_type: str) -> etree._Element:
    slot = etree.SubElement(parent, f"{_R}Slot", {"name": name})
    etree.SubElement(slot, f"{_R}SlotValue", {_XSI_TYPE: value_type})
    return slot


def _value(parent: etree._Element, name: str, value_type: str, value: str) -> None:
    slot = _slot(parent, name, value_type)
    etree.SubElement(slot[0], f"{_R}Value").text = value


def _provider(settings: Settings) -> Agent:
    return Agent(settings.oots_provider_orgnr, EAS_ORGNR, settings.oots_provider_name, None)


def _provider_agent(slot: etree._Element, settings: Settings, classification: str, *, address: bool) -> None:
    _agent(slot[0], _provider(settings), classification, address=address)


def _agent(parent: etree._Element, agent: Agent, classification: str | None, *, address: bool) -> None:
    element = etree.SubElement(parent, f"{_S}Agent")
    identifier = etree.SubElement(element, f"{_S}Identifier")
    identifier.text = agent.identifier
    if agent.scheme:
        identifier.set("schemeID", agent.scheme)
    name = etree.SubElement(element, f"{_S}Name")
    name.text = agent.name or agent.identifier
    if address:
        etree.SubElement(etree.SubElement(element, f"{_S}Address"), f"{_S}AdminUnitLevel1").text = "NO"
    if classification:
        etree.SubElement(element, f"{_S}Classification").text = classification


def _requester_slot(root: etree._Element, requester: Agent) -> None:
    slot = _slot(root, "EvidenceRequester", "rim:AnyValueType")
    _agent(slot[0], requester, None, address=False)


def _evidence_metadata(
    parent: etree._Element,
    person: NaturalPerson,
    evidence_type: EvidenceType,
    settings: Settings,
    new_id: Callable[[], uuid.UUID],
) -> None:
    evidence = etree.SubElement(parent, f"{_S}Evidence")
    etree.SubElement(evidence, f"{_S}Identifier").text = str(new_id())
    about = etree.SubElement(etree.SubElement(evidence, f"{_S}IsAbout"), f"{_S}NaturalPerson")
    # The person as the request described them: the requester's own words back, nothing the register adds.
    if person.identifier:
        identifier = etree.SubElement(
            about, f"{_S}Identifier", {"schemeID": person.identifier_scheme or "eidas"}
        )
        identifier.text = person.identifier
    for local, value in (
        ("FamilyName", person.family_name),
        ("GivenName", person.given_name),
        ("DateOfBirth", person.date_of_birth.isoformat() if person.date_of_birth else None),
    ):
        if value:
            etree.SubElement(about, f"{_S}{local}").text = value
    authority = etree.SubElement(evidence, f"{_S}IssuingAuthority")
    etree.SubElement(
        authority, f"{_S}Identifier", {"schemeID": EAS_ORGNR}
    ).text = settings.oots_provider_orgnr
    etree.SubElement(authority, f"{_S}Name").text = settings.oots_provider_name
    conformant = etree.SubElement(evidence, f"{_S}IsConformantTo")
    etree.SubElement(conformant, f"{_S}EvidenceTypeClassification").text = (
        CLASSIFICATION_BASE + evidence_type.classification
    )
    etree.SubElement(conformant, f"{_S}Title", {"lang": "EN"}).text = evidence_type.title_en
    etree.SubElement(conformant, f"{_S}Title", {"lang": "NB"}).text = evidence_type.title_nb
    etree.SubElement(
        conformant, f"{_S}Description", {"lang": "EN"}
    ).text = (
        "The person's results held by the Norwegian register of education results, as a signed ELMO document."
    )
    etree.SubElement(evidence, f"{_S}IssuingDate").text = dt.date.today().isoformat()
    distribution = etree.SubElement(evidence, f"{_S}Distribution")
    etree.SubElement(distribution, f"{_S}Format").text = ELMO_FORMAT
    etree.SubElement(distribution, f"{_S}ConformsTo").text = ELMO_CONFORMS_TO


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _bytes(root: etree._Element) -> bytes:
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
