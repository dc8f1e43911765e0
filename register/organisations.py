"""The organisation registry: organisations, their cross-walk codes and "delivers for" relations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from register.classifications import COUNTIES
from register.errors import Conflict, InvalidInput, NotFound
from register.identifiers import is_valid_orgnr
from register.models.organisation import CODE_SCHEMES, ORGANISATION_KINDS
from register.stats.refresh import bump_version

# ISO 3166-1 alpha-2 (from the tz database's iso3166.tab), plus XK (Kosovo), which the EU and Erasmus use.
_ISO_3166_ALPHA_2 = """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK"""
ISO_COUNTRIES = frozenset(_ISO_3166_ALPHA_2.split())
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


def check_country(raw: str) -> str:
    """An ISO 3166-1 alpha-2 country code, upper case, or InvalidInput."""
    country = raw.strip().upper()
    if country not in ISO_COUNTRIES:
        raise InvalidInput(
            "organisation.country_invalid",
            f"country {raw!r} is not an ISO 3166-1 alpha-2 code (NO, SE, PL, …)",
        )
    return country


def _country_of(orgnr: str | None, kind: str, country: str | None) -> str:
    """The organisation's country: as given, else NO only for an organisation with an orgnr.

    A Norwegian organisasjonsnummer says the organisation is registered in Norway; without one nothing
    says where it is, so the country must be given rather than defaulted to NO.
    """
    if country is None or not country.strip():
        if orgnr is None:
            raise InvalidInput(
                "organisation.country_missing",
                "an organisation without an organisasjonsnummer needs its country (ISO 3166-1 alpha-2,"
                " e.g. --country PL)",
            )
        return "NO"
    found = check_country(country)
    if kind == "foreign" and found == "NO":
        raise InvalidInput("organisation.country_foreign", "a foreign organisation cannot have country NO")
    return found


@dataclass(frozen=True, slots=True)
class OrganisationView:
    id: int
    orgnr: str | None
    name_nb: str
    name_en: str | None
    kind: str
    country: str
    name_lang: str | None = None
    county: str | None = None
    codes: dict[str, list[str]] = field(default_factory=dict)
    delivers_for: list[str] = field(default_factory=list)


def parse_code(raw: str) -> tuple[str, str]:
    """``SCHEME=VALUE`` from the command line."""
    scheme, sep, value = raw.partition("=")
    scheme = scheme.strip().lower()
    if not sep or not value.strip():
        raise InvalidInput("organisation.code_format", f"code {raw!r} is not SCHEME=VALUE")
    if scheme not in CODE_SCHEMES:
        raise InvalidInput(
            "organisation.code_scheme", f"code scheme {scheme!r} is not one of {', '.join(CODE_SCHEMES)}"
        )
    return scheme, value.strip()


def add_organisation(
    conn: Connection,
    *,
    orgnr: str | None,
    name: str,
    kind: str = "other",
    codes: list[tuple[str, str]] | None = None,
    delivers_for: list[str] | None = None,
    name_nn: str | None = None,
    name_en: str | None = None,
    country: str | None = None,
    name_lang: str | None = None,
    county: str | None = None,
) -> int:
    """Register an organisation (or add codes and relations to an existing one with the same orgnr).

    ``country`` is required without an orgnr (see _country_of); ``name_lang`` is the language of
    ``name``, "nb" by default for a Norwegian organisation and unknown by default for a foreign one.
    """
    if orgnr is not None:
        orgnr = orgnr.strip().replace(" ", "")
        if not is_valid_orgnr(orgnr):
            raise InvalidInput(
                "orgnr.invalid",
                f"{orgnr!r} is not a valid organisasjonsnummer (9 digits, mod-11 check digit)",
            )
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput(
            "organisation.kind", f"kind {kind!r} is not one of {', '.join(ORGANISATION_KINDS)}"
        )
    if not name.strip():
        raise InvalidInput("organisation.name_missing", "an organisation needs a name")
    country = _country_of(orgnr, kind, country)
    if county is not None:
        county = county.strip()
        if country != "NO" or county not in COUNTIES:
            raise InvalidInput(
                "organisation.county_invalid",
                f"county {county!r} is not a Norwegian county code ({', '.join(COUNTIES)})",
            )
    if name_lang is not None:
        name_lang = name_lang.strip().lower()
        if not _LANGUAGE_TAG.match(name_lang):
            raise InvalidInput(
                "organisation.name_lang_invalid",
                f"name language {name_lang!r} is not a language tag (pl, fi, sv)",
            )
    elif country == "NO":
        name_lang = "nb"
    org_id = None
    if orgnr is not None:
        org_id = conn.execute(text("SELECT id FROM organisation WHERE orgnr = :o"), {"o": orgnr}).scalar()
    elif codes:
        # An organisation without an orgnr (a foreign issuer) is known by its codes: adding it again
        # with one of them finds it, instead of registering a second organisation under the same code.
        org_id = conn.execute(
            text(
                """SELECT organisation_id FROM organisation_code
                   WHERE (scheme, value) IN (SELECT * FROM unnest(CAST(:schemes AS text[]), CAST(:values AS text[])))
                   LIMIT 1"""
            ),
            {"schemes": [c[0] for c in codes], "values": [c[1] for c in codes]},
        ).scalar()
    if org_id is not None and county is not None:
        # A county given for a registered organisation sets it (a move, or a county reform); the
        # statistics by county are then stale, so their version moves and cached answers go.
        moved = conn.execute(
            text("UPDATE organisation SET county = :c WHERE id = :id AND county IS DISTINCT FROM :c"),
            {"c": county, "id": org_id},
        ).rowcount
        if moved:
            bump_version(conn)
    if org_id is None:
        org_id = conn.execute(
            text(
                """INSERT INTO organisation (orgnr, name_nb, name_nn, name_en, kind, country, name_lang, county)
                   VALUES (:orgnr, :name, :nn, :en, :kind, :country, :lang, :county) RETURNING id"""
            ),
            {
                "orgnr": orgnr,
                "name": name.strip(),
                "nn": name_nn,
                "en": name_en,
                "kind": kind,
                "country": country,
                "lang": name_lang,
                "county": county,
            },
        ).scalar_one()
    for scheme, value in codes or []:
        owner = conn.execute(
            text("SELECT organisation_id FROM organisation_code WHERE scheme = :s AND value = :v"),
            {"s": scheme, "v": value},
        ).scalar()
        if owner is not None and owner != org_id:
            raise Conflict(
                "organisation.code_taken", f"code {scheme}={value} belongs to another organisation"
            )
        if owner is None:
            conn.execute(
                text("INSERT INTO organisation_code (organisation_id, scheme, value) VALUES (:o, :s, :v)"),
                {"o": org_id, "s": scheme, "v": value},
            )
    for other in delivers_for or []:
        other_id = _find(conn, other)
        if other_id is None:
            raise NotFound("organisation.unknown", f"organisation {other} (delivers-for) is not registered")
        try:
            with conn.begin_nested():
                conn.execute(
                    text(
                        """INSERT INTO organisation_delivery (deliverer_id, on_behalf_of_id) VALUES (:d, :o)
                           ON CONFLICT DO NOTHING"""
                    ),
                    {"d": org_id, "o": other_id},
                )
        except IntegrityError as exc:  # pragma: no cover - both rows exist, so only a race gets here
            raise Conflict("organisation.delivery", str(exc.orig)) from None
    return int(org_id)


def _find(conn: Connection, reference: str) -> int | None:
    """An organisation by orgnr, or by ``SCHEME=VALUE`` from the cross-walk (a foreign issuer has no orgnr)."""
    if "=" in reference:
        scheme, value = parse_code(reference)
        found = conn.execute(
            text("SELECT organisation_id FROM organisation_code WHERE scheme = :s AND value = :v"),
            {"s": scheme, "v": value},
        ).scalar()
    else:
        found = conn.execute(
            text("SELECT id FROM organisation WHERE orgnr = :o"), {"o": reference.strip()}
        ).scalar()
    return None if found is None else int(found)


def list_organisations(conn: Connection) -> list[OrganisationView]:
    codes: dict[int, dict[str, list[str]]] = {}
    for org_id, scheme, value in conn.execute(
        text("SELECT organisation_id, scheme, value FROM organisation_code ORDER BY scheme, value")
    ):
        codes.setdefault(org_id, {}).setdefault(scheme, []).append(value)
    delivers: dict[int, list[str]] = {}
    for deliverer, orgnr in conn.execute(
        text(
            """SELECT d.deliverer_id, o.orgnr FROM organisation_delivery d
               JOIN organisation o ON o.id = d.on_behalf_of_id ORDER BY o.orgnr"""
        )
    ):
        delivers.setdefault(deliverer, []).append(orgnr)
    return [
        OrganisationView(
            id=row.id,
            orgnr=row.orgnr,
            name_nb=row.name_nb,
            name_en=row.name_en,
            kind=row.kind,
            country=row.country,
            name_lang=row.name_lang,
            county=row.county,
            codes=codes.get(row.id, {}),
            delivers_for=delivers.get(row.id, []),
        )
        for row in conn.execute(
            text(
                "SELECT id, orgnr, name_nb, name_en, kind, country, name_lang, county FROM organisation"
                " ORDER BY name_nb, id"
            )
        )
    ]
