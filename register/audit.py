"""The audit trail: who read which person's data, when, with which scope — append-only, hash-chained.

Every row carries ``prev_hash`` (the previous row's ``hash`` in its chain) and ``hash`` = sha256 over its
own content and ``prev_hash``. Changing, inserting or deleting a row in the middle breaks its chain,
which ``verify_chain`` finds (``register audit verify``). A chain alone cannot show the newest rows or a
whole chain deleted, nor a row rewritten together with every hash after it: signed checkpoints of every
chain's head, kept outside the database, can (register.audit_checkpoints).

There are CHAINS parallel chains: events about a person go to chain 1 + (person id mod 63), events
without a person to chain 0. Writers of one chain are serialized by a transaction-scoped advisory lock
held until the writer commits, so the row that reads the last hash and the row that appends after it
never interleave and each chain's order is its ``id`` order. One chain for the whole country made every
look-up wait for the one before it; with 64, look-ups of different people commit in parallel, and every
read of one person's data still lies in one unbroken chain. The lock is taken last in a request's
transaction (the read first, then the audit row, then commit), so it is held for one insert and a commit;
the lock and the append are one round trip (a pipeline, the hash computed in SQL), and the look-up
sends its commit in that same round trip.

Rows are written in the caller's transaction: if the audit row cannot be written, the person data is
not returned either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from register.locks import LockKey

GENESIS = "0" * 64
CHAINS = 64


def chain_of(person_id: uuid.UUID | None) -> int:
    return 0 if person_id is None else 1 + person_id.int % (CHAINS - 1)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at: dt.datetime
    request_id: str | None
    client_id: str | None
    organisation: str | None
    scope: str | None
    person_id: uuid.UUID | None
    action: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PersonAccess:
    """One read of a person's data, as the person may see it (no internal request data)."""

    occurred_at: dt.datetime
    organisation: str | None
    organisation_name: str | None
    client_id: str | None
    action: str
    scope: str | None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where one chain ends: its number of rows, its newest row and that row's hash (GENESIS if empty)."""

    chain: int
    length: int
    last_id: int | None
    head: str

    def as_json(self) -> dict[str, Any]:
        return {"chain": self.chain, "length": self.length, "last_id": self.last_id, "head": self.head}


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    checked: int
    broken_at: int | None = None  # id of the first row that does not fit
    reason: str | None = None
    # Every chain's head as the walk found it (all CHAINS, empty ones too); only when ok. Not part of
    # the verdict's equality: two walks agree when they find the same thing wrong, or nothing.
    heads: tuple[ChainHead, ...] = field(default=(), compare=False)


def record_event(
    conn: Connection,
    *,
    action: str,
    person_id: uuid.UUID | None = None,
    client_id: str | None = None,
    organisation: str | None = None,
    scope: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    commit: bool = False,
) -> int:
    """Append one event to the chain in the caller's transaction; returns its id.

    ``details`` must be plain JSON (strings, integers, booleans, lists, objects) and never hold a
    national id: it is stored and hashed as given.

    ``commit=True`` also commits the caller's transaction, in the same round trip as the append: the
    server releases the chain's lock when the commit is done instead of one more round trip (and the
    caller's turn for the GIL) later. For a caller with nothing left to do in the transaction (the
    look-up); on a connection from ``engine.connect()``, whose transaction the driver began.
    """
    values = event_values(
        action=action,
        person_id=person_id,
        client_id=client_id,
        organisation=organisation,
        scope=scope,
        request_id=request_id,
        details=details,
    )
    # One round trip under the lock: the lock and the append go out together in a pipeline. They must
    # stay two statements: a statement sees the rows committed before it started, so the one that reads
    # the chain's last hash has to start after the lock is granted, or it could miss the append of the
    # writer it waited for.
    driver = conn.connection.driver_connection
    assert driver is not None  # a checked-out connection always has one
    with driver.pipeline(), driver.cursor() as cursor:
        cursor.execute(LOCK, values)
        cursor.execute(APPEND, values)
        if commit:
            driver.commit()  # queued behind the append: one sync for all three
        new_id = cursor.fetchone()
    assert new_id is not None
    return int(new_id[0])


def event_values(
    *,
    action: str,
    person_id: uuid.UUID | None = None,
    client_id: str | None = None,
    organisation: str | None = None,
    scope: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The parameters of ``LOCK`` and ``APPEND`` for one event (``record_event``, register.audit_group)."""
    chain = chain_of(person_id)
    content = {
        "chain": chain,
        "occurred_at": dt.datetime.now(dt.UTC),
        "request_id": request_id,
        "client_id": client_id,
        "organisation": organisation,
        "scope": scope,
        "person_id": person_id,
        "action": action,
        "details": dict(details or {}),
    }
    head, tail = _canonical_parts(content)
    return {
        **content,
        "details": json.dumps(content["details"]),
        "k": LockKey.AUDIT_CHAIN,
        # The previous hash is spliced in between (a hex string needs no JSON escaping): sha256 over the
        # UTF-8 of head + '"' + prev + '"' + tail is event_hash(prev, content), computed under the lock.
        "head": head + '"',
        "tail": '"' + tail,
        "genesis": GENESIS,
    }


LOCK = "SELECT pg_advisory_xact_lock(%(k)s, %(chain)s)"
APPEND = """
INSERT INTO audit_event (chain, occurred_at, request_id, client_id, organisation, scope, person_id, action,
                         details, prev_hash, hash)
SELECT %(chain)s, %(occurred_at)s, %(request_id)s, %(client_id)s, %(organisation)s, %(scope)s, %(person_id)s,
       %(action)s, CAST(%(details)s AS jsonb), prev.hash,
       encode(sha256(convert_to(%(head)s::text || prev.hash || %(tail)s::text, 'UTF8')), 'hex')
FROM (SELECT coalesce((SELECT hash FROM audit_event WHERE chain = %(chain)s ORDER BY id DESC LIMIT 1),
                      %(genesis)s) AS hash) AS prev
RETURNING id"""


def record_read(
    conn: Connection,
    *,
    person_id: uuid.UUID,
    action: str,
    client_id: str | None = None,
    organisation: str | None = None,
    scope: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    commit: bool = False,
) -> int:
    """Record that person data of ``person_id`` was given out (``action`` names the endpoint/command)."""
    return record_event(
        conn,
        action=action,
        person_id=person_id,
        client_id=client_id,
        organisation=organisation,
        scope=scope,
        request_id=request_id,
        details=details,
        commit=commit,
    )


#: ``details.outcome`` of a look-up that found no person (found ones have no outcome: they name the data)
NOT_FOUND = "not_found"


def record_not_found(
    conn: Connection,
    *,
    action: str,
    client_id: str | None = None,
    organisation: str | None = None,
    scope: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    commit: bool = False,
) -> int:
    """Record a look-up of a national id that no person holds (an existence probe leaves a trace).

    The row has no person (chain 0, like every event without one) and never the number: not in clear,
    and not hashed either — an 11-digit number with its check digits is one of about 10⁹ candidates,
    so a plain hash is reversed in minutes, and a keyed one would need a key kept from whoever reads the
    audit. Who asked, when, with which scope and request id is what tells a probe: a client whose
    not-found rows pile up is enumerating numbers, whichever numbers they are.
    """
    return record_event(
        conn,
        action=action,
        client_id=client_id,
        organisation=organisation,
        scope=scope,
        request_id=request_id,
        details={**(details or {}), "outcome": NOT_FOUND},
        commit=commit,
    )


def event_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """sha256 over the canonical JSON of an event's content and the previous hash.

    The canonical JSON is ``json.dumps`` of the content with ``prev_hash`` added, keys sorted, compact
    separators and ``ensure_ascii=False``; ``record_event`` computes the same digest in SQL from the
    two halves around ``prev_hash``.
    """
    head, tail = _canonical_parts(content)
    return hashlib.sha256((head + _encode(prev_hash) + tail).encode()).hexdigest()


#: The canonical JSON of the audit trail: keys sorted, compact, UTF-8 as is (events and checkpoints).
canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
_encode = canonical_json


def canonical_fields(content: Mapping[str, Any]) -> dict[str, Any]:
    """What an event's hash covers besides ``prev_hash``, as JSON values."""
    occurred = content["occurred_at"]
    canonical = {
        "occurred_at": occurred.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "request_id": content["request_id"],
        "client_id": content["client_id"],
        "organisation": content["organisation"],
        "scope": content["scope"],
        "person_id": str(content["person_id"]) if content["person_id"] is not None else None,
        "action": content["action"],
        "details": content["details"],
    }
    # Chain 0 is also where the rows written before there were several chains live: their hash does
    # not cover the chain, and a row moved into another chain still breaks that chain's links.
    if content.get("chain"):
        canonical["chain"] = content["chain"]
    return canonical


def _canonical_parts(content: Mapping[str, Any]) -> tuple[str, str]:
    """The canonical JSON up to the value of ``prev_hash`` and from after it.

    ``json.dumps(obj, sort_keys=True)`` of a flat object is its sorted ``key:value`` pairs joined, so
    encoding the pairs one by one gives the same text with a gap for the previous hash.
    """
    canonical = canonical_fields(content)
    before = [f"{_encode(k)}:{_encode(canonical[k])}" for k in sorted(canonical) if k < "prev_hash"]
    after = [f"{_encode(k)}:{_encode(canonical[k])}" for k in sorted(canonical) if k > "prev_hash"]
    # Both sides are never empty ("action" sorts before, "scope" after), so the commas always belong.
    return "{" + ",".join(before) + ',"prev_hash":', "," + ",".join(after) + "}"


def verify_chain(conn: Connection, *, batch_rows: int = 5000) -> ChainVerification:
    """Walk every chain in id order (streamed) and report the first row that does not fit."""
    prev = GENESIS
    chain = -1
    checked = 0
    found: dict[int, ChainHead] = {}
    for row in _stream(conn, batch_rows):
        if row.chain != chain:
            chain, prev = row.chain, GENESIS
            length = 0
        if row.prev_hash != prev:
            return ChainVerification(
                False, checked, row.id, "prev_hash does not match the previous row's hash"
            )
        if event_hash(prev, row._mapping) != row.hash:
            return ChainVerification(False, checked, row.id, "hash does not match the row's content")
        prev = row.hash
        checked += 1
        length += 1
        found[chain] = ChainHead(chain, length, row.id, row.hash)
    return ChainVerification(True, checked, heads=all_heads(found))


def all_heads(found: Mapping[int, ChainHead]) -> tuple[ChainHead, ...]:
    """The heads of chains 0 … CHAINS-1 (an empty one as length 0 at GENESIS), and any other chain found."""
    numbers = sorted(set(range(CHAINS)) | set(found))
    return tuple(found.get(c, ChainHead(c, 0, None, GENESIS)) for c in numbers)


def _stream(conn: Connection, batch_rows: int) -> Iterator[Any]:
    result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(
        text(
            """SELECT id, chain, occurred_at, request_id, client_id, organisation, scope, person_id, action,
                      details, prev_hash, hash
               FROM audit_event ORDER BY chain, id"""
        )
    )
    yield from result


def accesses_to_person(conn: Connection, person_id: uuid.UUID, *, limit: int = 1000) -> list[PersonAccess]:
    """Who looked at this person's data, newest first (for a citizen-facing "who has seen my data")."""
    rows = conn.execute(
        text(
            """SELECT a.occurred_at, a.organisation, o.name_nb, a.client_id, a.action, a.scope
               FROM audit_event a LEFT JOIN organisation o ON o.orgnr = a.organisation
               WHERE a.person_id = :p ORDER BY a.occurred_at DESC, a.id DESC LIMIT :n"""
        ),
        {"p": person_id, "n": limit},
    )
    return [
        PersonAccess(
            occurred_at=r.occurred_at,
            organisation=r.organisation,
            organisation_name=r.name_nb,
            client_id=r.client_id,
            action=r.action,
            scope=r.scope,
        )
        for r in rows
    ]


def list_events(
    conn: Connection,
    *,
    person_id: uuid.UUID | None = None,
    organisation: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Events newest first, filtered; page on with ``before_id`` = the last id of the previous page."""
    clauses = ["TRUE"]
    params: dict[str, Any] = {"n": limit}
    for column, value in (
        ("person_id", person_id),
        ("organisation", organisation),
        ("action", action),
    ):
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    if since is not None:
        clauses.append("occurred_at >= :since")
        params["since"] = since
    if until is not None:
        clauses.append("occurred_at < :until")
        params["until"] = until
    if before_id is not None:
        clauses.append("id < :before_id")
        params["before_id"] = before_id
    rows = conn.execute(
        text(
            f"""SELECT id, occurred_at, request_id, client_id, organisation, scope, person_id, action, details
                FROM audit_event WHERE {" AND ".join(clauses)} ORDER BY id DESC LIMIT :n"""
        ),
        params,
    )
    return [AuditEntry(**row._mapping) for row in rows]
