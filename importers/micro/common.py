"""Reading compacted JSON-LD as plain JSON, with the shapes ELM and Open Badges actually use.

The register never expands JSON-LD (that would need the contexts, fetched over the network). Both
formats publish fixed contexts whose compacted property names are stable, so the documents are read as
JSON by those names: a property may hold one value or a list, a text may be a string or a language map.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from register.identifiers import is_valid_orgnr

OSLO = ZoneInfo("Europe/Oslo")
PREFERRED_LANGUAGES = ("nb", "no", "nn", "en")

# ISO 3166-1 alpha-3 → alpha-2 for the countries whose identifiers reach the register (EU/EEA and
# neighbours). ELM names countries by the EU country authority table, whose codes are alpha-3.
ISO3_TO_ISO2 = {
    "NOR": "NO", "SWE": "SE", "DNK": "DK", "FIN": "FI", "ISL": "IS", "DEU": "DE", "FRA": "FR", "ITA": "IT",
    "ESP": "ES", "PRT": "PT", "NLD": "NL", "BEL": "BE", "LUX": "LU", "IRL": "IE", "AUT": "AT", "POL": "PL",
    "CZE": "CZ", "SVK": "SK", "SVN": "SI", "HRV": "HR", "HUN": "HU", "ROU": "RO", "BGR": "BG", "GRC": "GR",
    "CYP": "CY", "MLT": "MT", "EST": "EE", "LVA": "LV", "LTU": "LT", "LIE": "LI", "CHE": "CH", "GBR": "GB",
    "UKR": "UA", "USA": "US",
}  # fmt: skip


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def first_dict(value: Any) -> dict[str, Any] | None:
    for item in as_list(value):
        if isinstance(item, dict):
            return item
    return None


def types_of(node: Mapping[str, Any]) -> set[str]:
    return {t for t in as_list(node.get("type")) if isinstance(t, str)}


def lang_map(value: Any, default_language: str = "und") -> dict[str, str]:
    """A text as {language: text}: from a language map ({"en": "…"}), a string, or a list of either."""
    out: dict[str, str] = {}
    for item in as_list(value):
        if isinstance(item, str) and item.strip():
            out.setdefault(default_language, item.strip())
        elif isinstance(item, dict):
            if "@value" in item and isinstance(item["@value"], str):
                out.setdefault(str(item.get("@language", default_language)), item["@value"].strip())
                continue
            for language, text in item.items():
                if isinstance(language, str) and isinstance(text, str) and text.strip():
                    out.setdefault(language, text.strip())
                elif isinstance(language, str) and isinstance(text, list):
                    joined = " ".join(t.strip() for t in text if isinstance(t, str) and t.strip())
                    if joined:
                        out.setdefault(language, joined)
    return out


def one_text(value: Any) -> str | None:
    """One text from a language map or string, in the register's preferred language order."""
    texts = lang_map(value)
    for language in PREFERRED_LANGUAGES:
        if language in texts:
            return texts[language]
    return next(iter(texts.values()), None)


def concept(value: Any) -> tuple[str | None, str | None]:
    """(id, label) of an ELM Concept (or a bare concept IRI)."""
    node = first_dict(value)
    if node is None:
        first = next((v for v in as_list(value) if isinstance(v, str)), None)
        return first, None
    ident = node.get("id") if isinstance(node.get("id"), str) else None
    return ident, one_text(node.get("prefLabel"))


def last_segment(iri: str | None) -> str | None:
    if not iri:
        return None
    return iri.rstrip("/").rsplit("/", 1)[-1] or None


def is_global_id(value: Any) -> bool:
    """An id that names the same thing outside this document: a web address or a DID."""
    return isinstance(value, str) and (value.startswith(("https://", "http://", "did:")))


def parse_timestamp(raw: Any) -> dt.datetime | None:
    """An xsd:dateTime or date; a timestamp without an offset is read as Norwegian local time."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), OSLO)
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=OSLO)


def register_date(stamp: dt.datetime) -> dt.date:
    """The calendar day of a timestamp as seen in Norway (the register's day, whatever the issuer's zone).

    Europass writes local midnight as UTC (2022-12-31T23:00:00Z is 1 January in Oslo), so reading the
    date part literally would move many credentials to the previous day.
    """
    return stamp.astimezone(OSLO).date()


def decimal_or_none(raw: Any) -> Decimal | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value > 1000:
        return None
    return value


_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+)M)?)?$"
)


def duration_hours(raw: Any) -> Decimal | None:
    """Hours of an ISO 8601 duration given in hours and minutes (PT60H, PT7H30M); None otherwise.

    Days, weeks, months and years are calendar spans, not workload, so they are not converted.
    """
    if not isinstance(raw, str):
        return None
    match = _DURATION.match(raw.strip())
    if not match or match["weeks"] or match["days"] or not (match["hours"] or match["minutes"]):
        return None
    hours = Decimal((match["hours"] or "0").replace(",", "."))
    minutes = Decimal(match["minutes"] or "0")
    total = hours + minutes / 60
    if not total:
        return None
    # two decimals at most, and never an exponent (Decimal("60").normalize() would print as 6E+1)
    return (
        total.quantize(Decimal(1)) if total == total.to_integral_value() else total.quantize(Decimal("0.01"))
    )


_ORGNR_IN_TEXT = re.compile(r"^(?:NO)?\s*(\d{3})\s?(\d{3})\s?(\d{3})\s*(?:MVA)?$", re.IGNORECASE)
ORGNR_SCHEME_NAMES = frozenset(
    {"orgnr", "organisasjonsnummer", "organization number", "organisation number", "enhetsregisteret", "0192"}
)


def orgnr_of(raw: Any) -> str | None:
    """A valid organisasjonsnummer in a notation ("974760673", "NO 974 760 673 MVA", "0192:974760673")."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.startswith("0192:"):
        text = text[5:]
    match = _ORGNR_IN_TEXT.match(text)
    if not match:
        return None
    value = "".join(match.groups())
    return value if is_valid_orgnr(value) else None


NIN_SCHEME_NAMES = frozenset(
    {
        "nin",
        "fnr",
        "fødselsnummer",
        "fodselsnummer",
        "d-nummer",
        "national identity number",
        "national id",
        "nationalidentitynumber",
        "norwegian national identity number",
        "personal identity number",
    }
)
