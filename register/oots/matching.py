"""Which person an OOTS request is about — exactly one, or none: never a guess.

1. An eIDAS identifier issued by Norway (``NO/<receiving country>/<national id>``, scheme ``eidas``)
   names the person by their fødselsnummer or D-nummer: the register's anchor.
2. Otherwise the names and the date of birth, compared exactly (case and Unicode normalisation aside),
   and only when exactly one person matches. Two persons with the same names and birth date are an
   unclear match, not a choice.

Both need the request's level of assurance to reach ``Settings.oots_min_level_of_assurance``. Every
answer that finds no one (absent, ambiguous, too weak) is ``EDM:ERR:0004`` and the caller audits it;
what the request carried as identifier is never written anywhere.
"""

from __future__ import annotations

import enum
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, text

from register.identifiers import InvalidNin, parse_nin
from register.oots.codes import LevelOfAssurance
from register.oots.request import NaturalPerson


class MatchOutcome(enum.StrEnum):
    BY_IDENTIFIER = "matched_by_identifier"
    BY_ATTRIBUTES = "matched_by_attributes"
    ABSENT = "absent"
    AMBIGUOUS = "ambiguous"
    ASSURANCE_TOO_LOW = "assurance_too_low"
    TOO_LITTLE = "too_little_to_match"


@dataclass(frozen=True, slots=True)
class Match:
    outcome: MatchOutcome
    person_id: uuid.UUID | None = None

    @property
    def found(self) -> bool:
        return self.person_id is not None


def norwegian_nin_of(person: NaturalPerson, *, allow_synthetic: bool) -> str | None:
    """The national id inside an eIDAS identifier Norway issued, if it is a valid one."""
    if person.identifier is None or (person.identifier_scheme or "eidas").lower() != "eidas":
        return None
    parts = person.identifier.split("/")
    if len(parts) != 3 or parts[0].upper() != "NO":
        return None
    try:
        parse_nin(parts[2], allow_synthetic=allow_synthetic)
    except InvalidNin:
        return None
    return parts[2]


def match_person(
    conn: Connection,
    person: NaturalPerson,
    *,
    minimum: LevelOfAssurance,
    allow_synthetic: bool,
) -> Match:
    if person.level_of_assurance is None or person.level_of_assurance < minimum:
        return Match(MatchOutcome.ASSURANCE_TOO_LOW)
    nin = norwegian_nin_of(person, allow_synthetic=allow_synthetic)
    if nin is not None:
        parsed = parse_nin(nin, allow_synthetic=allow_synthetic)
        found = conn.execute(
            text("SELECT person_id FROM person_identifier WHERE kind = :k AND scheme = '' AND value = :v"),
            {"k": parsed.kind.value, "v": parsed.value},
        ).scalar()
        if found is None:
            return Match(MatchOutcome.ABSENT)
        return Match(MatchOutcome.BY_IDENTIFIER, uuid.UUID(str(found)))
    if not (person.family_name and person.given_name and person.date_of_birth):
        return Match(MatchOutcome.TOO_LITTLE)
    # Persons born that day (an index: migration 0015), then the names compared in Python under the same
    # normalisation as the request's, so "Ødegård" in NFD and NFC are one name and "Nordmann" another.
    candidates = conn.execute(
        text("SELECT id, given_name, family_name FROM person WHERE birth_date = :d"),
        {"d": person.date_of_birth},
    ).all()
    given, family = _name(person.given_name), _name(person.family_name)
    matches = [
        row.id for row in candidates if _name(row.given_name) == given and _name(row.family_name) == family
    ]
    if not matches:
        return Match(MatchOutcome.ABSENT)
    if len(matches) > 1:
        return Match(MatchOutcome.AMBIGUOUS)
    return Match(MatchOutcome.BY_ATTRIBUTES, uuid.UUID(str(matches[0])))


def _name(value: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", value or "").casefold().split())
