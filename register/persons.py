"""Finding a person by national id — the one place a national id becomes an internal person id."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from register.errors import InvalidInput, NotFound
from register.identifiers import InvalidNin, parse_nin
from register.settings import get_settings


def person_id_by_nin(conn: Connection, nin: str, *, allow_synthetic: bool | None = None) -> uuid.UUID:
    """The person holding this fødselsnummer/D-/H-/synthetic number (one indexed look-up).

    Raises InvalidInput (code nin.*) for a malformed number and NotFound (person.not_found) for a
    number no person in the register holds. Neither message contains the number.
    """
    kind, value = nin_key(nin, allow_synthetic=allow_synthetic)
    found = conn.execute(
        text("SELECT person_id FROM person_identifier WHERE kind = :k AND scheme = '' AND value = :v"),
        {"k": kind, "v": value},
    ).scalar()
    if found is None:
        raise person_not_found()
    return uuid.UUID(str(found))


def nin_key(nin: str, *, allow_synthetic: bool | None = None) -> tuple[str, str]:
    """The (kind, value) under which ``person_identifier`` holds this number; InvalidInput (nin.*) if malformed.

    For callers that find the person in the same statement as their data (the look-up's fast path).
    """
    if allow_synthetic is None:
        allow_synthetic = get_settings().synthetic_ids_allowed
    try:
        parsed = parse_nin(nin, allow_synthetic=allow_synthetic)
    except InvalidNin as exc:
        raise InvalidInput(exc.problem.code, exc.problem.message) from None
    return parsed.kind.value, parsed.value


def person_not_found() -> NotFound:
    """The one answer for a number no person holds (the message never contains the number)."""
    return NotFound("person.not_found", "no person in the register has this national identity number")


def national_id_of(conn: Connection, person_id: uuid.UUID) -> str | None:
    """The person's national id as it is to be shown to them (in their own wallet credential): a
    fødselsnummer before a D-/H-number (one that replaced a D-nummer is the person's number now)."""
    found = conn.execute(
        text(
            """SELECT value FROM person_identifier
               WHERE person_id = :p AND scheme = '' AND kind IN ('fnr', 'synthetic', 'dnr', 'hnr')
               ORDER BY array_position(ARRAY['fnr', 'synthetic', 'dnr', 'hnr'], kind::text), created_at DESC
               LIMIT 1"""
        ),
        {"p": person_id},
    ).scalar()
    return None if found is None else str(found)
