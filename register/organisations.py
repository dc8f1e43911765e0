"""The organisation registry: organisations, their cross-walk codes and "delivers for" relations."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from register.errors import Conflict, InvalidInput, NotFound
from register.identifiers import is_valid_orgnr
from register.models.organisation import CODE_SCHEMES, ORGANISATION_KINDS


@dataclass(frozen=True, slots=True)
class OrganisationView:
    id: int
    orgnr: str | None
    name_nb: str
    name_en: str | None
    kind: str
    country: str
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
    country: str = "NO",
) -> int:
    """Register an organisation (or add codes and relations to an existing one with the same orgnr)."""
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
    if org_id is None:
        org_id = conn.execute(
            text(
                """INSERT INTO organisation (orgnr, name_nb, name_nn, name_en, kind, country)
                   VALUES (:orgnr, :name, :nn, :en, :kind, :country) RETURNING id"""
            ),
            {
                "orgnr": orgnr,
                "name": name.strip(),
                "nn": name_nn,
                "en": name_en,
                "kind": kind,
                "country": country,
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
            codes=codes.get(row.id, {}),
            delivers_for=delivers.get(row.id, []),
        )
        for row in conn.execute(
            text("SELECT id, orgnr, name_nb, name_en, kind, country FROM organisation ORDER BY name_nb, id")
        )
    ]
