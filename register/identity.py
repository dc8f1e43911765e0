"""The identity model: which person a delivered record belongs to — the one place its rules live.

docs/identity.md states the model for people; every rule below is numbered as there (I1–I8) and has
its own test (tests/foundation/test_identity.py). The ingest calls ``learner_identifiers`` for each
record (no database) and ``resolve_persons`` once per batch (set-based SQL over its staging tables).

The Norwegian national id (fødselsnummer, D-nummer, H-nummer; the synthetic test kinds in test
registers) anchors a person. Every other identifier — ESI, foreign national ids, institution-local
ids — is secondary: it may lead to a person, but never decides against the national id.

I1  A record names at most one national id. Two different ones: rejected.
I2  A known national id decides the person. A secondary identifier of the record that another person
    holds: rejected (never attached, never followed).
I3  A new national id makes a new person — unless a secondary identifier of the record is held by
    someone already: then rejected (finding 1: it was attached to that other person).
I4  A secondary identifier is attached only to the person of the record's national id, and only when
    nobody holds it. Within one delivery, the earliest record's national id claims it; other national
    ids delivering it are rejected.
I5  A record without a national id belongs to the one person its identifiers lead to. If they lead to
    two or more persons: rejected. If they lead to one person, nothing is attached to that person
    (a secondary identifier never extends a person's identity by itself). If they lead to nobody, a
    new person is made holding them all; where records of one delivery name different, overlapping
    sets of new identifiers, the earliest makes the person and the later are rejected (no second
    person shares an identifier).
I6  A delivery never adds a second national id to a person, never merges persons and never moves a
    result between persons (``record.learner_changed``, enforced by the ingest's write). A change of
    national id is the operator's ``register person link-id`` (``link_national_id``).
I7  Every rejection under I1–I5 has the one code ``person.identifier_conflict`` and the one message
    below, which says nothing about who holds what. The operators see each conflict in the audit
    trail (action ``identity.conflict``: batch, record, internal person ids — never an identifier).
I8  Names and birth date delivered for an existing person replace the stored ones when they differ;
    the replaced values are appended to ``person_history`` (a format that delivers none leaves them).

Concurrent deliveries: identifiers are inserted in key order (waits, never deadlocks) with ON CONFLICT;
a person made by a concurrent batch a moment earlier wins, and a final check re-reads every
identifier of the batch's learners, so a race ends as a rejection under I2–I5, never as a merge.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from register.audit import record_event
from register.errors import Conflict, InvalidInput
from register.identifiers import InvalidNin, NinKind, parse_nin
from register.records import IdentifierIn, RecordError

#: the kinds of ``person_identifier`` that are Norwegian national ids (the anchor)
NATIONAL_KINDS = tuple(kind.value for kind in NinKind)
CONFLICT = "person.identifier_conflict"
CONFLICT_MESSAGE = (
    "the person identifiers of this record do not agree with the register's persons, so the record "
    "cannot be placed with a person; the register's operators have been notified — correct the "
    "identifiers, or ask the operators if they are right"
)
TWO_NATIONAL_IDS = "the record names more than one national identity number for its learner"
#: conflicts listed one by one in the audit event of a batch; past this they are counted
AUDITED_CONFLICTS = 1000


class Rejected(Exception):
    """A record the identity rules refuse without looking at the database (I1, malformed ids)."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        self.code, self.message, self.path = code, message, path


class Rejections(Protocol):
    def add(self, error: RecordError, position: int) -> None: ...


Identifier = tuple[str, str, str]  # (kind, scheme, value) as person_identifier holds it


def learner_identifiers(given: tuple[IdentifierIn, ...], allow_synthetic: bool) -> list[Identifier]:
    """A record's identifiers checked and ordered: the national id first (the anchor), then the others
    in the order delivered, each once. Raises Rejected for a malformed one and for two national ids (I1).
    """
    if not given:
        raise Rejected("person.identifier_missing", "the record names no person identifier", "person")
    national: list[Identifier] = []
    others: list[Identifier] = []
    for ord_, ident in enumerate(given):
        path = f"person.identifiers[{ord_}]"
        if ident.kind == "nin":
            try:
                nin = parse_nin(ident.value, allow_synthetic=allow_synthetic)
            except InvalidNin as exc:
                raise Rejected(exc.problem.code, exc.problem.message, path) from None
            found: Identifier = (nin.kind.value, "", nin.value)
            if national and national[0] != found:
                raise Rejected(CONFLICT, TWO_NATIONAL_IDS, path)
            national[:1] = [found]
        elif ident.kind in ("esi", "foreign"):
            value = ident.value.strip()
            if not value:
                raise Rejected("person.identifier_empty", f"{ident.kind} identifier is empty", path)
            found = (ident.kind, ident.scheme.strip(), value)
            if found not in others:
                others.append(found)
        else:
            raise Rejected(
                "person.identifier_kind", f"identifier kind {ident.kind!r} is not nin, esi or foreign", path
            )
    return national + others


def learner_key(identifiers: list[Identifier]) -> str:
    """One learner of a delivery: the same identifiers (in the same canonical order) are one learner,
    decided once for all its records. A digest, so that the batch's index on it holds any number of
    identifiers; held only in the batch's temporary tables."""
    joined = "\x1e".join("\x1f".join(ident) for ident in identifiers)
    return hashlib.sha256(joined.encode()).hexdigest()


# --- the set-based resolution (stage, stage_identifier → person_map) -----------------------------

_NATIONAL = "(" + ", ".join(f"'{kind}'" for kind in NATIONAL_KINDS) + ")"

# Learners and their identifiers. A learner's primary identifier (its anchor) is on the stage row, the
# others are in stage_identifier. ``anchored``: the anchor is a national id, whose holder is the
# learner's person (NULL: new) — found here, in the statement that makes the map. Bulk deliveries name
# a national id and nothing else: their learners have no rows in learner_identifier, which holds only
# what can disagree (the secondary identifiers, and the anchors of learners without a national id), so
# the rules below cost them nothing beyond this one join.
_LEARNERS = f"""
CREATE TEMP TABLE person_map ON COMMIT DROP AS
SELECT l.*, CASE WHEN l.anchored THEN pi.person_id END AS person_id, false AS created, false AS conflict
FROM (SELECT learner, pid_kind AS kind, pid_scheme AS scheme, pid_value AS value,
             pid_kind IN {_NATIONAL} AS anchored, min(seq) AS first_seq
      FROM stage GROUP BY learner, pid_kind, pid_scheme, pid_value) l
LEFT JOIN person_identifier pi ON pi.kind = l.kind AND pi.scheme = l.scheme AND pi.value = l.value;
CREATE UNIQUE INDEX ON person_map (learner);

CREATE TEMP TABLE learner_identifier ON COMMIT DROP AS
SELECT learner, kind, scheme, value, true AS is_anchor FROM person_map WHERE NOT anchored
UNION
SELECT DISTINCT s.learner, si.kind, si.scheme, si.value, false
FROM stage_identifier si JOIN stage s ON s.seq = si.seq;
CREATE INDEX ON learner_identifier (learner);
ANALYZE person_map; ANALYZE learner_identifier;
"""

# Who holds each of those identifiers now; run again (for the learners without a national id) after
# the national ids' identifiers are attached.
_HOLDERS = """
DROP TABLE IF EXISTS held;
CREATE TEMP TABLE held ON COMMIT DROP AS
SELECT li.learner, li.kind, li.scheme, li.value, li.is_anchor, pi.person_id AS holder
FROM learner_identifier li
LEFT JOIN person_identifier pi ON pi.kind = li.kind AND pi.scheme = li.scheme AND pi.value = li.value
{where};
CREATE INDEX ON held (learner);
"""

# I2/I3: a national id's learner is its national id's person (NULL: new); any secondary identifier held
# by someone else conflicts. I4: an unheld secondary identifier delivered with two national ids belongs
# to the earliest; the later ones conflict.
_ANCHORED = """
UPDATE person_map pm SET conflict = true
WHERE pm.anchored AND EXISTS (
    SELECT 1 FROM held h WHERE h.learner = pm.learner AND NOT h.is_anchor AND h.holder IS NOT NULL
                           AND h.holder IS DISTINCT FROM pm.person_id);

WITH claim AS (
    SELECT DISTINCT ON (h.kind, h.scheme, h.value) h.kind, h.scheme, h.value, pm.value AS anchor
    FROM held h JOIN person_map pm ON pm.learner = h.learner
    WHERE pm.anchored AND NOT pm.conflict AND NOT h.is_anchor AND h.holder IS NULL
    ORDER BY h.kind, h.scheme, h.value, pm.first_seq
)
UPDATE person_map pm SET conflict = true
FROM held h JOIN claim c ON c.kind = h.kind AND c.scheme = h.scheme AND c.value = h.value
WHERE pm.anchored AND h.learner = pm.learner AND NOT h.is_anchor AND h.holder IS NULL
  AND c.anchor <> pm.value;
"""

# I5: a learner without a national id, after the national ids' identifiers are attached: the one
# person its identifiers lead to; two or more persons conflict; none is a new person, unless another
# such learner of the batch claims one of its identifiers first.
_UNANCHORED = """
WITH led AS (
    SELECT h.learner, count(DISTINCT h.holder) AS persons, min(h.holder::text)::uuid AS holder
    FROM held h JOIN person_map pm ON pm.learner = h.learner
    WHERE NOT pm.anchored GROUP BY h.learner
)
UPDATE person_map pm SET person_id = CASE WHEN led.persons = 1 THEN led.holder END,
                         conflict = led.persons > 1
FROM led WHERE led.learner = pm.learner;

WITH claim AS (
    SELECT DISTINCT ON (h.kind, h.scheme, h.value) h.kind, h.scheme, h.value, pm.learner
    FROM held h JOIN person_map pm ON pm.learner = h.learner
    WHERE NOT pm.anchored AND NOT pm.conflict AND pm.person_id IS NULL
    ORDER BY h.kind, h.scheme, h.value, pm.first_seq
)
UPDATE person_map pm SET conflict = true
FROM held h JOIN claim c ON c.kind = h.kind AND c.scheme = h.scheme AND c.value = h.value
WHERE NOT pm.anchored AND NOT pm.conflict AND pm.person_id IS NULL AND h.learner = pm.learner
  AND c.learner <> pm.learner;
"""

# New persons for the anchors still without one (learners sharing an anchor share the person), then
# their identifiers. Shared by both phases: ``:anchored`` says which.
_CREATE = """
CREATE TEMP TABLE new_anchor ON COMMIT DROP AS
SELECT kind, scheme, value, gen_random_uuid() AS person_id, min(first_seq) AS first_seq
FROM person_map WHERE anchored = :anchored AND NOT conflict AND person_id IS NULL
GROUP BY kind, scheme, value;

UPDATE person_map pm SET person_id = na.person_id, created = true
FROM new_anchor na
WHERE pm.anchored = :anchored AND NOT pm.conflict AND pm.person_id IS NULL
  AND na.kind = pm.kind AND na.scheme = pm.scheme AND na.value = pm.value;

INSERT INTO person (id, given_name, family_name, birth_date)
SELECT na.person_id, s.given_name, s.family_name, s.birth_date
FROM new_anchor na JOIN stage s ON s.seq = na.first_seq;

-- A concurrent batch of another provider may have created the same person a moment ago: its
-- identifier row wins, the map follows it, and the person made here is removed. In key order, so two
-- batches meeting on the same new persons wait rather than deadlock.
INSERT INTO person_identifier (person_id, kind, scheme, value)
SELECT person_id, kind, scheme, value FROM new_anchor ORDER BY kind, scheme, value
ON CONFLICT (kind, scheme, value) DO NOTHING;

CREATE TEMP TABLE lost_person ON COMMIT DROP AS
SELECT na.person_id AS lost_id, pi.person_id AS winner_id, na.kind, na.scheme, na.value
FROM new_anchor na
JOIN person_identifier pi ON pi.kind = na.kind AND pi.scheme = na.scheme AND pi.value = na.value
WHERE pi.person_id <> na.person_id;
UPDATE person_map pm SET person_id = l.winner_id, created = false
FROM lost_person l WHERE pm.anchored = :anchored AND l.kind = pm.kind AND l.scheme = pm.scheme AND l.value = pm.value;
DELETE FROM person WHERE id IN (SELECT lost_id FROM lost_person);
DROP TABLE new_anchor; DROP TABLE lost_person;

-- I4: the secondary identifiers nobody holds join the person of their learner (the earliest learner
-- where several deliver one; the final check rejects the others). A learner without a national id
-- attaches only to a person made for it here (I5).
INSERT INTO person_identifier (person_id, kind, scheme, value)
SELECT DISTINCT ON (h.kind, h.scheme, h.value) pm.person_id, h.kind, h.scheme, h.value
FROM held h JOIN person_map pm ON pm.learner = h.learner
WHERE pm.anchored = :anchored AND NOT pm.conflict AND NOT h.is_anchor AND h.holder IS NULL
  AND (pm.anchored OR pm.created)
ORDER BY h.kind, h.scheme, h.value, pm.first_seq
ON CONFLICT (kind, scheme, value) DO NOTHING;
"""

# The final check, on what is stored now (this batch's inserts and every concurrent batch committed
# before them): no identifier of a learner may be held by a person other than the learner's.
# (The anchor of a learner with a national id is its person's by construction: found, made here, or
# made by a concurrent batch and followed.)
_FINAL = """
UPDATE person_map pm SET conflict = true
WHERE NOT pm.conflict AND EXISTS (
    SELECT 1 FROM learner_identifier li
    JOIN person_identifier pi ON pi.kind = li.kind AND pi.scheme = li.scheme AND pi.value = li.value
    WHERE li.learner = pm.learner AND pi.person_id <> pm.person_id);
"""

# The rejected records, each with the persons its identifiers lead to (for the operators' audit only).
_REJECT = """
WITH rejected AS (
    DELETE FROM stage s USING person_map pm WHERE pm.conflict AND pm.learner = s.learner
    RETURNING s.seq, s.ref, s.learner
)
SELECT r.seq, r.ref, (SELECT array_agg(DISTINCT p ORDER BY p)
               FROM (SELECT pi.person_id::text AS p
                     FROM learner_identifier li
                     JOIN person_identifier pi ON pi.kind = li.kind AND pi.scheme = li.scheme
                                              AND pi.value = li.value
                     WHERE li.learner = r.learner
                     UNION ALL
                     SELECT pm.person_id::text FROM person_map pm
                     WHERE pm.learner = r.learner AND pm.person_id IS NOT NULL) held) AS persons
FROM rejected r ORDER BY r.seq
"""

# I8: names and birth date of persons that existed before the batch, from the batch's last record of
# each person that delivers them; the replaced values go to person_history first. In person order, so
# two batches updating the same persons wait rather than deadlock.
_NAMES = """
CREATE TEMP TABLE delivered_name ON COMMIT DROP AS
SELECT DISTINCT ON (pm.person_id) pm.person_id, s.given_name, s.family_name, s.birth_date
FROM stage s JOIN person_map pm ON pm.learner = s.learner
WHERE NOT pm.created AND (s.given_name IS NOT NULL OR s.family_name IS NOT NULL OR s.birth_date IS NOT NULL)
ORDER BY pm.person_id, s.seq DESC;

CREATE TEMP TABLE renamed ON COMMIT DROP AS
SELECT d.* FROM delivered_name d JOIN person p ON p.id = d.person_id
WHERE (coalesce(d.given_name, p.given_name), coalesce(d.family_name, p.family_name),
       coalesce(d.birth_date, p.birth_date)) IS DISTINCT FROM (p.given_name, p.family_name, p.birth_date);

SELECT count(*) FROM (SELECT 1 FROM person WHERE id IN (SELECT person_id FROM renamed) ORDER BY id FOR UPDATE) l;

-- Compared again now that the rows are locked: each statement reads a fresh snapshot, and a concurrent
-- batch may have stored the same names while this one waited — then there is nothing to keep.
INSERT INTO person_history (person_id, given_name, family_name, birth_date, replaced_by_batch_id)
SELECT p.id, p.given_name, p.family_name, p.birth_date, :batch
FROM renamed r JOIN person p ON p.id = r.person_id
WHERE (coalesce(r.given_name, p.given_name), coalesce(r.family_name, p.family_name),
       coalesce(r.birth_date, p.birth_date)) IS DISTINCT FROM (p.given_name, p.family_name, p.birth_date);

UPDATE person p SET given_name = coalesce(r.given_name, p.given_name),
                    family_name = coalesce(r.family_name, p.family_name),
                    birth_date = coalesce(r.birth_date, p.birth_date)
FROM renamed r WHERE r.person_id = p.id;

DROP TABLE delivered_name;
DROP TABLE renamed
"""


def resolve_persons(conn: Connection, rejections: Rejections, *, batch_id: uuid.UUID) -> None:
    """Map every learner of the staged batch to one person under I2–I5 (``person_map``: learner →
    person_id), rejecting the records of conflicting learners (I7) and updating names (I8)."""
    _run(conn, _LEARNERS)
    _run(conn, _HOLDERS.format(where=""))
    _run(conn, _ANCHORED)
    _run(conn, _CREATE, anchored=True)
    # the national ids' new identifiers now lead to their persons
    _run(
        conn, _HOLDERS.format(where="WHERE li.learner IN (SELECT learner FROM person_map WHERE NOT anchored)")
    )
    _run(conn, _UNANCHORED)
    _run(conn, _CREATE, anchored=False)
    _run(conn, _FINAL)
    conflicts = conn.execute(text(_REJECT)).all()
    for seq, ref, _ in conflicts:
        rejections.add(
            RecordError(record=ref, code=CONFLICT, message=CONFLICT_MESSAGE, path="person.identifiers"), seq
        )
    conn.execute(text("DELETE FROM person_map WHERE conflict; ANALYZE person_map;"))
    _run(conn, _NAMES, batch=batch_id)
    if conflicts:
        audit_conflicts(conn, batch_id, [(ref, persons or []) for _, ref, persons in conflicts])


def _run(conn: Connection, script: str, **params: Any) -> None:
    """A script statement by statement: with parameters, the server takes one statement at a time."""
    for statement in script.split(";\n"):
        if statement.strip():
            conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})


def audit_conflicts(conn: Connection, batch_id: uuid.UUID, conflicts: list[tuple[str, list[str]]]) -> None:
    """One audit event per batch with conflicts: for the operators, never for the uploader (I7)."""
    details: dict[str, Any] = {
        "batch_id": str(batch_id),
        "records": len(conflicts),
        "conflicts": [{"record": ref, "persons": persons} for ref, persons in conflicts[:AUDITED_CONFLICTS]],
    }
    provider = conn.execute(
        text(
            "SELECT o.orgnr FROM import_batch b JOIN organisation o ON o.id = b.provider_id WHERE b.id = :b"
        ),
        {"b": batch_id},
    ).scalar()
    record_event(conn, action="identity.conflict", client_id="ingest", organisation=provider, details=details)


# --- the operator's change of national id --------------------------------------------------------


def link_national_id(conn: Connection, old: str, new: str, *, allow_synthetic: bool) -> uuid.UUID:
    """Add the national id ``new`` to the person holding ``old`` (both rows kept), audited.

    The way a D-nummer → fødselsnummer change reaches the register (Folkeregisteret's identity
    history). Raises InvalidInput (nin.*) for a malformed number, NotFound (person.not_found) when no
    person holds ``old`` and Conflict (person.identifier_conflict) when another person holds ``new``.
    Returns the person's internal id. No message names a number.
    """
    from register.persons import person_not_found

    old_kind, old_value = _parsed(old, "the old number", allow_synthetic)
    new_kind, new_value = _parsed(new, "the new number", allow_synthetic)
    holders: dict[str, Any] = dict(
        conn.execute(
            text(
                """SELECT value, person_id FROM person_identifier
                   WHERE (kind, scheme, value) IN ((:ok, '', :ov), (:nk, '', :nv))"""
            ),
            {"ok": old_kind, "ov": old_value, "nk": new_kind, "nv": new_value},
        ).all()
    )
    person_id = holders.get(old_value)
    if person_id is None:
        raise person_not_found()
    if new_value in holders:
        if holders[new_value] == person_id:
            return uuid.UUID(str(person_id))  # linked already: nothing to do
        raise Conflict(
            CONFLICT,
            "the new number belongs to another person in the register; persons are never merged by "
            "this command — the case needs an operator's investigation",
        )
    try:
        with conn.begin_nested():
            conn.execute(
                text(
                    """INSERT INTO person_identifier (person_id, kind, scheme, value, valid_from)
                       VALUES (:p, :k, '', :v, current_date)"""
                ),
                {"p": person_id, "k": new_kind, "v": new_value},
            )
    except IntegrityError:  # taken by a delivery a moment ago
        raise Conflict(CONFLICT, "the new number was registered for another person a moment ago") from None
    record_event(
        conn,
        action="person.link_id",
        person_id=uuid.UUID(str(person_id)),
        client_id="cli",
        details={"old_kind": old_kind, "new_kind": new_kind},
    )
    return uuid.UUID(str(person_id))


def _parsed(raw: str, which: str, allow_synthetic: bool) -> tuple[str, str]:
    try:
        nin = parse_nin(raw, allow_synthetic=allow_synthetic)
    except InvalidNin as exc:
        raise InvalidInput(exc.problem.code, f"{which}: {exc.problem.message}") from None
    return nin.kind.value, nin.value


def read_numbers(lines: Iterable[str]) -> list[str]:
    """National ids from a file or standard input: whitespace-separated, blank lines and # comments
    skipped (so they need not stand on the command line, where shell history keeps them)."""
    found: list[str] = []
    for line in lines:
        found.extend(line.split("#", 1)[0].split())
    return found
