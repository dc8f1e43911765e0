"""What the preview pages show and say: the evidence read back from the document that would travel,
and the page texts in bokmål and English."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from lxml import etree

from register.namespaces import ELMO_NS

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
_E = f"{{{ELMO_NS}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(slots=True)
class Line:
    title: str
    grade: str | None
    credits: str | None
    date: str | None
    parts: list[Line] = field(default_factory=list)


@dataclass(slots=True)
class Issuer:
    name: str
    lines: list[Line]


def evidence_lines(document: bytes, lang: str) -> list[Issuer]:
    """The ELMO's reports and their results, in document order — read from the very bytes that travel."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(document, parser)
    return [
        Issuer(_title(report.find(f"{_E}issuer"), lang), [_line(los, lang) for los in _children(report)])
        for report in root.iter(f"{_E}report")
    ]


def _children(parent: etree._Element) -> list[etree._Element]:
    if parent.tag == f"{_E}report":
        return parent.findall(f"{_E}learningOpportunitySpecification")
    return [
        los
        for has_part in parent.findall(f"{_E}hasPart")
        for los in has_part.findall(f"{_E}learningOpportunitySpecification")
    ]


def _line(los: etree._Element, lang: str) -> Line:
    instance = los.find(f"{_E}specifies/{_E}learningOpportunityInstance")
    grade = credits = date = None
    if instance is not None:
        grade = instance.findtext(f"{_E}resultLabel")
        value, scheme = (
            instance.findtext(f"{_E}credit/{_E}value"),
            instance.findtext(f"{_E}credit/{_E}scheme"),
        )
        credits = f"{value} {scheme}" if value else None
        date = instance.findtext(f"{_E}date")
    return Line(_title(los, lang), grade, credits, date, [_line(child, lang) for child in _children(los)])


def _title(element: etree._Element | None, lang: str) -> str:
    if element is None:
        return ""
    titles = element.findall(f"{_E}title")
    for title in titles:
        if title.get(XML_LANG) == lang:
            return title.text or ""
    return (titles[0].text or "") if titles else ""


def language(request: Request) -> str:
    """``?lang=en`` or ``?lang=nb``; else the browser's first preference of the two; else bokmål."""
    chosen = request.query_params.get("lang")
    if chosen in TEXTS:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag[:2] in ("nb", "no", "nn"):
            return "nb"
    return "nb"


TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Forhåndsvis dokumentasjon som skal sendes til utlandet",
        "intro": "En myndighet i et annet EØS-land har bedt om dokumentasjon av utdanningen din gjennom"
        " EUs tekniske system for engangsinnhenting (OOTS). Se gjennom det som vil bli sendt, og godkjenn"
        " eller avslå.",
        "requester": "Hvem spør",
        "procedure": "Prosedyre",
        "evidence_type": "Dokumentasjon",
        "expires": "Forespørselen utløper",
        "what_travels": "Dette blir sendt",
        "raw": "Dokumentet slik det sendes (signert ELMO, XML)",
        "result": "Resultat",
        "credits": "Studiepoeng",
        "date": "Dato",
        "course": "Emne/fag",
        "approve": "Godkjenn og send",
        "refuse": "Avslå",
        "state_approved": "Du godkjente forespørselen. Dokumentasjonen sendes når myndigheten henter den.",
        "state_refused": "Du avslo forespørselen. Ingenting blir sendt.",
        "state_expired": "Forespørselen er utløpt. Ingenting blir sendt; myndigheten må spørre på nytt.",
        "not_found": "Vi fant ingen forespørsel med denne adressen for deg.",
        "login_needed": "Du må logge inn for å se forespørselen.",
        "login": "Logg inn",
        "other_language": "English",
        "other_lang": "en",
        "bad_form": "Skjemaet var utløpt eller ugyldig. Last siden på nytt og prøv igjen.",
    },
    "en": {
        "title": "Preview the evidence to be sent abroad",
        "intro": "An authority in another EEA country has asked for evidence of your education through the"
        " EU Once-Only Technical System (OOTS). Look at what would be sent, then approve or refuse.",
        "requester": "Who is asking",
        "procedure": "Procedure",
        "evidence_type": "Evidence",
        "expires": "The request expires",
        "what_travels": "This is what would be sent",
        "raw": "The document as it travels (signed ELMO, XML)",
        "result": "Result",
        "credits": "Credits",
        "date": "Date",
        "course": "Course/subject",
        "approve": "Approve and send",
        "refuse": "Refuse",
        "state_approved": "You approved the request. The evidence is sent when the authority fetches it.",
        "state_refused": "You refused the request. Nothing is sent.",
        "state_expired": "The request has expired. Nothing is sent; the authority has to ask again.",
        "not_found": "We found no request at this address for you.",
        "login_needed": "Log in to see the request.",
        "login": "Log in",
        "other_language": "Norsk (bokmål)",
        "other_lang": "nb",
        "bad_form": "The form had expired or was not valid. Reload the page and try again.",
    },
}
