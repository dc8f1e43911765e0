"""Reading an EDM ``query:QueryRequest``: by namespace, never by prefix, with hostile XML refused.

The parser is the ELMO importer's (importers/higher/elmo/reader.py): no DTD, no entities, no network,
no huge trees — and a document that declares a DOCTYPE at all is refused, since no EDM message has
one and an internal subset is how entity expansion attacks begin. Sizes are bounded twice: the bytes
(``Settings.oots_max_request_bytes``) before parsing and the nesting depth (``Settings.max_xml_depth``)
after, both ahead of any look-up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lxml import etree

from register.namespaces import QUERY_NS, RIM_NS, SDG_NS, XSI_NS
from register.oots.codes import SPECIFICATIONS, EdmError, EdmErrorCode, LevelOfAssurance

_Q, _R, _S = f"{{{QUERY_NS}}}", f"{{{RIM_NS}}}", f"{{{SDG_NS}}}"
_XSI_TYPE = f"{{{XSI_NS}}}type"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True, slots=True)
class Agent:
    identifier: str
    scheme: str | None
    name: str | None
    classification: str | None


@dataclass(frozen=True, slots=True)
class NaturalPerson:
    level_of_assurance: LevelOfAssurance | None
    identifier: str | None  # as sent; an eIDAS identifier ``XX/YY/value`` — never logged or audited
    identifier_scheme: str | None
    family_name: str | None
    given_name: str | None
    date_of_birth: dt.date | None


@dataclass(frozen=True, slots=True)
class EvidenceRequest:
    request_id: str
    specification: str
    procedure: str | None
    possibility_for_preview: bool
    explicit_request_given: bool
    preview_location: str | None
    requirements: tuple[str, ...]
    requesters: tuple[Agent, ...]
    person: NaturalPerson
    evidence_type_id: str | None  # sdg:DataServiceEvidenceType/sdg:Identifier
    classification: str
    formats: tuple[str, ...]
    conforms_to: tuple[str, ...] = field(default=())

    @property
    def version(self) -> str:
        """``v1`` or ``v2``: the response's shape (docs/oots.md)."""
        return "v2" if self.specification.endswith("v2.0") else "v1"

    @property
    def requester(self) -> Agent | None:
        """The evidence requester (classification ER, or EvidenceRequester in 1.x), else the first agent."""
        for agent in self.requesters:
            if agent.classification in ("ER", "EvidenceRequester"):
                return agent
        return self.requesters[0] if self.requesters else None


def secure_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_document(data: bytes, *, max_bytes: int, max_depth: int) -> etree._Element:
    """The document's root; EdmError 0003 (``oots.xml_*``) for anything hostile or broken."""
    if len(data) > max_bytes:
        raise _invalid("oots.xml_too_large", f"the request is larger than {max_bytes} bytes")
    try:
        tree = etree.fromstring(data, secure_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise _invalid("oots.xml_malformed", f"the request is not well-formed XML: {exc.msg}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _invalid("oots.xml_doctype", "a DOCTYPE is not accepted in an EDM message")
    root = tree.getroot()
    if _depth(root) > max_depth:
        raise _invalid("oots.xml_too_deep", f"the XML nests deeper than the limit of {max_depth} levels")
    return root


def _depth(root: etree._Element) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in element)
    return deepest


def read_request(data: bytes, *, max_bytes: int, max_depth: int) -> EvidenceRequest:
    """The evidence request in ``data``; EdmError 0003 where it is not one the EDM allows."""
    root = parse_document(data, max_bytes=max_bytes, max_depth=max_depth)
    if root.tag != f"{_Q}QueryRequest":
        raise _invalid("oots.not_a_query_request", "the document is not a query:QueryRequest")
    request_id = (root.get("id") or "").strip()
    if not request_id:
        raise _invalid("oots.missing_field", "the QueryRequest has no id")
    specification = _string(root, "SpecificationIdentifier")
    if specification is None:
        raise _invalid("oots.missing_field", "the SpecificationIdentifier slot is missing")
    if specification not in SPECIFICATIONS:
        raise EdmError(
            EdmErrorCode.UNSUPPORTED,
            "oots.unsupported_specification",
            f"specification {specification!r} is not supported (supported: {', '.join(sorted(SPECIFICATIONS))})",
        )
    query = root.find(f"{_Q}Query")
    if query is None or query.get("queryDefinition") != "DocumentQuery":
        raise _invalid(
            "oots.missing_field", "the request needs a query:Query with queryDefinition DocumentQuery"
        )
    person = _person(query)
    dset = _slot_value(query, "EvidenceRequest")
    if dset is None or dset.tag != f"{_S}DataServiceEvidenceType":
        raise _invalid("oots.missing_field", "the EvidenceRequest slot has no sdg:DataServiceEvidenceType")
    classification = _text(dset, "EvidenceTypeClassification")
    if not classification:
        raise _invalid("oots.missing_field", "the evidence type has no EvidenceTypeClassification")
    formats = tuple(t for d in dset.findall(f"{_S}DistributedAs") if (t := _text(d, "Format")) is not None)
    conforms = tuple(
        t for d in dset.findall(f"{_S}DistributedAs") if (t := _text(d, "ConformsTo")) is not None
    )
    return EvidenceRequest(
        request_id=request_id,
        specification=specification,
        procedure=_procedure(root),
        possibility_for_preview=_boolean(root, "PossibilityForPreview"),
        explicit_request_given=_boolean(root, "ExplicitRequestGiven"),
        preview_location=_string(root, "PreviewLocation"),
        requirements=tuple(
            t for r in _any_values(root, "Requirements") if (t := _text(r, "Identifier")) is not None
        ),
        requesters=tuple(_agent(a) for a in _any_values(root, "EvidenceRequester") if a.tag == f"{_S}Agent"),
        person=person,
        evidence_type_id=_text(dset, "Identifier"),
        classification=classification,
        formats=formats,
        conforms_to=conforms,
    )


# --- slots ------------------------------------------------------------------------------------------


def _slot(parent: etree._Element, name: str) -> etree._Element | None:
    for slot in parent.iterchildren(f"{_R}Slot"):
        if slot.get("name") == name:
            return slot
    return None


def _slot_value(parent: etree._Element, name: str) -> etree._Element | None:
    """The one element inside an AnyValueType slot (``rim:SlotValue/<element>``)."""
    slot = _slot(parent, name)
    value = slot.find(f"{_R}SlotValue") if slot is not None else None
    return next(iter(value), None) if value is not None else None


def _any_values(parent: etree._Element, name: str) -> list[etree._Element]:
    """The elements of a slot that is AnyValueType or a collection of AnyValueType elements."""
    slot = _slot(parent, name)
    value = slot.find(f"{_R}SlotValue") if slot is not None else None
    if value is None:
        return []
    elements = value.findall(f"{_R}Element")
    holders = elements if elements else [value]
    return [child for holder in holders for child in holder if isinstance(child.tag, str)]


def _string(parent: etree._Element, name: str) -> str | None:
    slot = _slot(parent, name)
    value = slot.find(f"{_R}SlotValue/{_R}Value") if slot is not None else None
    text = (value.text or "").strip() if value is not None else ""
    return text or None


def _boolean(parent: etree._Element, name: str) -> bool:
    text = _string(parent, name)
    if text is None:
        return False
    if text not in ("true", "false", "1", "0"):
        raise _invalid("oots.invalid_value", f"the {name} slot must be a boolean")
    return text in ("true", "1")


def _procedure(root: etree._Element) -> str | None:
    """2.0: a code (``T3``); 1.x: an InternationalString — its English text, else the first."""
    slot = _slot(root, "Procedure")
    if slot is None:
        return None
    strings = slot.findall(f"{_R}SlotValue/{_R}Value/{_R}LocalizedString")
    if strings:
        english = [s for s in strings if (s.get(XML_LANG) or "").lower() == "en"]
        return ((english or strings)[0].get("value") or "").strip() or None
    return _string(root, "Procedure")


def _text(parent: etree._Element, local: str) -> str | None:
    element = parent.find(f"{_S}{local}")
    text = (element.text or "").strip() if element is not None else ""
    return text or None


def _agent(element: etree._Element) -> Agent:
    identifier = element.find(f"{_S}Identifier")
    return Agent(
        identifier=(identifier.text or "").strip() if identifier is not None else "",
        scheme=identifier.get("schemeID") if identifier is not None else None,
        name=_text(element, "Name"),
        classification=_text(element, "Classification"),
    )


def _person(query: etree._Element) -> NaturalPerson:
    person = _slot_value(query, "NaturalPerson")
    if person is None or person.tag != f"{_S}Person":
        raise EdmError(
            EdmErrorCode.UNSUPPORTED,
            "oots.unsupported_subject",
            "the register holds evidence about natural persons only (a NaturalPerson slot)",
        )
    identifier = person.find(f"{_S}Identifier")
    birth = _text(person, "DateOfBirth")
    try:
        date_of_birth = dt.date.fromisoformat(birth) if birth else None
    except ValueError:
        raise _invalid("oots.invalid_value", "sdg:DateOfBirth is not a date (YYYY-MM-DD)") from None
    loa_text = _text(person, "LevelOfAssurance")
    loa = LevelOfAssurance.parse(loa_text)
    if loa_text is not None and loa is None:
        raise _invalid("oots.invalid_value", "sdg:LevelOfAssurance must be Low, Substantial or High")
    return NaturalPerson(
        level_of_assurance=loa,
        identifier=(identifier.text or "").strip() or None if identifier is not None else None,
        identifier_scheme=identifier.get("schemeID") if identifier is not None else None,
        family_name=_text(person, "FamilyName"),
        given_name=_text(person, "GivenName"),
        date_of_birth=date_of_birth,
    )


def _invalid(reason: str, detail: str) -> EdmError:
    return EdmError(EdmErrorCode.INVALID_REQUEST, reason, detail)


def request_id_of(data: bytes) -> str | None:
    """The request's id for an error answer when the request could not be read (best effort, safely)."""
    try:
        root = etree.fromstring(data, secure_parser())
    except etree.XMLSyntaxError:
        return None
    value = root.get("id") if root.tag == f"{_Q}QueryRequest" else None
    return value.strip()[:200] if value else None
