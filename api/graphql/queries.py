"""Set-based look-ups the GraphQL DataLoaders batch into: one statement per kind of thing per request.

These complement ``register.queries`` (which serves one person's nested achievements to REST and
GraphQL alike) with the look-ups a graph needs by key: persons and their identifiers by person id,
organisations by id or orgnr with their cross-walk codes, specifications by id. Each takes the whole
list of keys a request collected and answers with one statement, so the statement count does not
grow with the number of keys. They return the register's typed views, never ORM rows, and would sit
as well in ``register.queries`` should REST need them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from register.organisations import OrganisationView
from register.queries import SpecificationView


@dataclass(frozen=True, slots=True)
class PersonRecord:
    id: uuid.UUID
    given_name: str | None
    family_name: str | None
    birth_date: dt.date | None


@dataclass(frozen=True, slots=True)
class IdentifierView:
    kind: str
    scheme: str
    value: str
    valid_from: dt.date | None
    valid_to: dt.date | None


def persons_by_ids(conn: Connection, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PersonRecord]:
    rows = conn.execute(
        text(
            """SELECT id, given_name, family_name, birth_date FROM person
               WHERE id = ANY(CAST(:ids AS uuid[]))"""
        ),
        {"ids": list(ids)},
    )
    return {row.id: PersonRecord(**row._mapping) for row in rows}


def identifiers_by_person(
    conn: Connection, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[IdentifierView]]:
    found: dict[uuid.UUID, list[IdentifierView]] = {pid: [] for pid in ids}
    rows = conn.execute(
        text(
            """SELECT person_id, kind, scheme, value, valid_from, valid_to FROM person_identifier
               WHERE person_id = ANY(CAST(:ids AS uuid[])) ORDER BY person_id, kind, scheme, value"""
        ),
        {"ids": list(ids)},
    )
    for row in rows:
        found[row.person_id].append(
            IdentifierView(row.kind, row.scheme, row.value, row.valid_from, row.valid_to)
        )
    return found


# Codes and "delivers for" come as aggregates of the same row, so an organisation is one statement.
_ORGANISATIONS = """
    SELECT o.id, o.orgnr, o.name_nb, o.name_en, o.kind, o.country,
           coalesce((SELECT jsonb_object_agg(c.scheme, c.vals)
                     FROM (SELECT scheme, jsonb_agg(value ORDER BY value) AS vals FROM organisation_code
                           WHERE organisation_id = o.id GROUP BY scheme) AS c), '{}'::jsonb) AS codes,
           coalesce((SELECT array_agg(t.orgnr ORDER BY t.orgnr)
                     FROM organisation_delivery d JOIN organisation t ON t.id = d.on_behalf_of_id
                     WHERE d.deliverer_id = o.id AND t.orgnr IS NOT NULL), '{}') AS delivers_for
    FROM organisation o
"""


def _organisation(row: object) -> OrganisationView:
    m = row._mapping  # type: ignore[attr-defined]
    return OrganisationView(
        id=m["id"],
        orgnr=m["orgnr"],
        name_nb=m["name_nb"],
        name_en=m["name_en"],
        kind=m["kind"],
        country=m["country"],
        codes={scheme: list(values) for scheme, values in m["codes"].items()},
        delivers_for=list(m["delivers_for"]),
    )


def organisations_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, OrganisationView]:
    rows = conn.execute(text(_ORGANISATIONS + " WHERE o.id = ANY(:ids)"), {"ids": list(ids)})
    return {view.id: view for view in map(_organisation, rows)}


def organisations_by_orgnr(conn: Connection, orgnrs: Sequence[str]) -> dict[str, OrganisationView]:
    rows = conn.execute(text(_ORGANISATIONS + " WHERE o.orgnr = ANY(:orgnrs)"), {"orgnrs": list(orgnrs)})
    return {view.orgnr: view for view in map(_organisation, rows) if view.orgnr is not None}


def specifications_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, SpecificationView]:
    rows = conn.execute(
        text(
            """SELECT id, kind, code, code_scheme, title, description, credits, credit_scheme, nkr_level,
                      eqf_level, nus_code, iscedf_code, learning_outcomes
               FROM learning_specification WHERE id = ANY(:ids)"""
        ),
        {"ids": list(ids)},
    )
    return {row.id: SpecificationView(**row._mapping) for row in rows}
