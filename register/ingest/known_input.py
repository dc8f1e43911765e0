"""Known input: a re-export recognised by the bytes of each raw record, before anything is parsed.

A re-export carries the same records as the file sent before, in other bytes (a trailing newline, a
comment between documents, another order). The content hash recognises each record as unchanged, but
only after it has been parsed, mapped and hashed — most of a re-send's cost. So an importer that can
cut its file into raw records cheaply (a CSV row with the header it is read under, or a vitnemål's
adjacent rows) gives each raw record a digest: its bytes, the context they are read under, the
importer's name and its ``mapping_version``. Per delivering provider, the register keeps the digests
of raw records whose every item was accepted, with what they made (achievement ids and content
hashes, in order). On a delivery the importer asks for a chunk of digests at once
(``KnownInputs.lookup``: one probe of the primary key per digest, in one statement), and a known raw
record is yielded as a ``KnownSpan`` instead of being parsed: the ingest counts its items unchanged
exactly as the content hash would have.

A first delivery knows none of its records, and at national scale each probe of a key that is not
there may read a page of the index from disk (0.37 s for a chunk of 2 000 cold, measured). So a chunk
is probed in two steps: ``SAMPLE_RECORDS`` digests spread evenly over it first, the rest only where one
of those is known. A re-export is known throughout and probed in full; a new file costs ``SAMPLE_RECORDS``
probes a chunk. What it can cost: known records are read again (as if new, with the same result) where
they are few and scattered in a chunk of new ones. The sampled digests are spread evenly, so any run
of known records as long as a chunk ÷ ``SAMPLE_RECORDS`` (32 in a full chunk) holds one of them.

``known_input`` has a row per raw record, millions at national scale, so each is kept small: ``KEY_BYTES`` of the
key's sha256 and ``HASH_BYTES`` of each content hash, raw. Sixteen bytes are enough for both: a key is
compared only among one provider's own (two alike by chance: 2^-128 a pair, ~2^-87 among 2^21 rows),
and finding two records of one's own with alike keys on purpose (2^64 work) could only make one's own
delivery count a record unchanged; a content hash is compared with one stored value, to notice a
correction, and to match it on purpose is a preimage (2^128).

A digest is trusted only while what it made is still what is stored: the lookup checks, set-based,
that each achievement still carries the stored content hash and is of an organisation the provider
may deliver for, so a correction by another batch makes the old bytes count as changed (they are
parsed again). The organisations' codes are folded into every digest (``bind``): the organisation a
record names is resolved through them, so a change there makes every raw record unknown once.

A raw record with a rejection (the importer's or the ingest's) or a warning is not remembered: sent
again, it is parsed again and says so again. The other side of the protocol, for a raw record that
is parsed: the importer yields ``SpanStart`` (its digest) before the record's items and ``SpanEnd``
(its note) after them; ``Spans`` collects them and ``remember`` stores the accepted ones.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import Cursor
from sqlalchemy import Connection, text

#: raw records an importer buffers before asking which are known (one statement per chunk), and the
#: bytes they may hold together: a row of 1 MiB (the row limit) must not make a chunk of 2 GiB
CHUNK_RECORDS = 2_000
CHUNK_BYTES = 4 * 1024 * 1024

#: digests of a chunk probed first: where none is known, the chunk is taken as new (see above)
SAMPLE_RECORDS = 64

#: bytes kept of each key's sha256 and of each content hash (see above for why 16 are enough)
KEY_BYTES = 16
HASH_BYTES = 16

#: in SQL: an achievement's content hash cut as known_input keeps it, and the one kept for the item
#: ``u.n`` (its position in ``k.achievement_ids``) of the row ``k``
_CUT_CONTENT_HASH = f"decode(left(a.content_hash, {2 * HASH_BYTES}), 'hex')"
_STORED_HASH = f"substring(k.content_hashes FROM (u.n::int - 1) * {HASH_BYTES} + 1 FOR {HASH_BYTES})"


def digester(importer: str, mapping_version: int, context: bytes) -> Callable[[bytes], bytes]:
    """The digest of a raw record read under ``context`` by ``importer`` at ``mapping_version``: the
    three hashed once per file, each length-prefixed (no two different tuples give the same input),
    and each record's bytes after them."""
    prefix = hashlib.sha256()
    for part in (importer.encode(), str(mapping_version).encode(), context):
        prefix.update(len(part).to_bytes(8, "big"))
        prefix.update(part)

    def digest(raw: bytes) -> bytes:
        h = prefix.copy()
        h.update(raw)
        return h.digest()

    return digest


@dataclass(frozen=True, slots=True)
class Known:
    """A known raw record: its key in ``known_input``, the importer's note on its effect on the rest
    of the file, and how many items it made. The items themselves (source keys, achievement ids) stay
    in the database: ``Spans.fill_unchanged`` counts them unchanged set-based."""

    key: bytes
    note: str | None
    count: int


@dataclass(frozen=True, slots=True)
class KnownSpan:
    """An importer's item: a raw record known and not parsed; each of its items is counted unchanged
    under ``ref`` (where the record is in this delivery), or under ``refs``, one per item, where the
    importer names each item of a raw record apart (an ELMO document's reports and courses)."""

    ref: str
    known: Known
    refs: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SpanStart:
    """An importer's item: the items up to the next ``SpanEnd`` are the raw record ``digest``'s."""

    digest: bytes


@dataclass(frozen=True, slots=True)
class SpanEnd:
    """An importer's item: the raw record started by the last ``SpanStart`` ends; ``note`` is what the
    importer needs to replay its effect when it is known next time; ``keep`` False where the importer
    cannot skip this record next time (it is then not remembered)."""

    note: str | None = None
    keep: bool = True


SpanItem = KnownSpan | SpanStart | SpanEnd


class KnownInputs:
    """The register's side of the protocol for one delivery (``ImportContext.known``): which raw
    records of the provider are known. Usable once the ingest has bound it to the organisations."""

    def __init__(self, conn: Connection, provider_id: int) -> None:
        self.conn, self.provider_id = conn, provider_id
        self._salt: bytes | None = None
        self._entitled: list[int] = []
        self._staged = False  # known_items created
        #: the last chunk's raw digests and their keys: each is asked for again when its record is read
        self._chunk_keys: dict[bytes, bytes] = {}

    def bind(self, codes: Mapping[tuple[str, str], int], entitled: Iterable[int]) -> None:
        """The organisation codes the records are resolved by, and whom the provider delivers for."""
        h = hashlib.sha256()
        for (scheme, value), org_id in sorted(codes.items()):
            h.update(f"{scheme}\x1f{value}\x1f{org_id}\x1e".encode())
        self._salt = h.digest()
        self._entitled = sorted(entitled)

    def key(self, raw_digest: bytes) -> bytes:
        found = self._chunk_keys.get(raw_digest)
        return self._make_key(raw_digest) if found is None else found

    def _make_key(self, raw_digest: bytes) -> bytes:
        assert self._salt is not None, "bound by the ingest before the importer runs"
        return hashlib.sha256(self._salt + raw_digest).digest()[:KEY_BYTES]

    def lookup(self, digests: Sequence[bytes]) -> dict[bytes, Known]:
        """The known ones among ``digests`` (raw digests, as the importer made them): one statement, or
        two where a chunk is sampled first."""
        if self._salt is None or not digests:
            return {}
        self._chunk_keys = {d: self._make_key(d) for d in digests}
        keys = {key: d for d, key in self._chunk_keys.items()}
        every = list(keys)
        if len(every) <= 2 * SAMPLE_RECORDS:
            return self._probe(every, keys)
        sample = [every[i * len(every) // SAMPLE_RECORDS] for i in range(SAMPLE_RECORDS)]
        found = self._probe(sample, keys)
        if not found:
            return {}  # a new chunk (or one whose few known records are read again: see above)
        sampled = set(sample)
        found.update(self._probe([key for key in every if key not in sampled], keys))
        return found

    def _probe(self, keys: list[bytes], digests: Mapping[bytes, bytes]) -> dict[bytes, Known]:
        """The known ones among ``keys`` (``digests`` gives each key's raw digest), by raw digest; their
        items copied into ``known_items``. One statement."""
        # The keys as one bytea cut in SQL: psycopg dumps a list of 2 000 bytes values element by
        # element (a third of the lookup's time, measured on a re-send of 4 300 rows).
        # Only (digest, note, count) come back; the items of the known ones go to ``known_items``, for
        # ``Spans.fill_unchanged`` to count unchanged set-based. Fetching their source keys and ids as
        # arrays and building tuples of them was 0.34 s of a 0.71 s lookup over a re-send of 27 217
        # rows (cProfile); joining known_input and achievement again for the fill, 0.35 s. Each item's
        # achievement is a subquery by primary key, on purpose: as a join, right after an import (its
        # statistics not yet gathered) the planner hashed the organisation's achievements once per
        # credential — 0.52 s for 796 credentials, 0.01 s so. A record's verdict (every item current) is
        # a window over its items, not a join of the items with the verdicts: estimated at one row each,
        # that join was a nested loop of 2 000 × 2 000 comparisons per chunk — 0.46 s of a 0.48 s
        # lookup, and a re-send of 83 536 rows slower than its first import (1.17 ×) at 30 000 persons.
        if not self._staged:
            self.conn.execute(
                text(
                    "CREATE TEMP TABLE known_items (digest bytea, n int, source_key text, achievement_id uuid)"
                    " ON COMMIT DROP"
                )
            )
            self._staged = True
        cur = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cur.execute(
            f"""
            WITH item AS MATERIALIZED (
                SELECT k.digest, k.note, u.n, u.id,
                       (SELECT a.source_key FROM achievement a
                        WHERE a.id = u.id
                          AND {_CUT_CONTENT_HASH} = {_STORED_HASH}
                          AND a.awarding_org_id = ANY(%(entitled)s)) AS source_key
                FROM known_input k
                CROSS JOIN LATERAL unnest(k.achievement_ids) WITH ORDINALITY u(id, n)
                WHERE k.provider_id = %(provider)s
                  AND k.digest = ANY(ARRAY(SELECT substring(%(keys)s FROM i * {KEY_BYTES} + 1 FOR {KEY_BYTES})
                                           FROM generate_series(0, length(%(keys)s) / {KEY_BYTES} - 1) i))
            ), judged AS MATERIALIZED (
                SELECT digest, note, n, id, source_key,
                       count(*) OVER w AS items, bool_and(source_key IS NOT NULL) OVER w AS current
                FROM item WINDOW w AS (PARTITION BY digest)
            ), kept AS (
                INSERT INTO known_items (digest, n, source_key, achievement_id)
                SELECT digest, n, source_key, id FROM judged WHERE current
            )
            SELECT digest, note, items FROM judged WHERE current AND n = 1
            """,
            {"provider": self.provider_id, "keys": b"".join(keys), "entitled": self._entitled},
        )
        return {digests[key]: Known(key, note, count) for key, note, count in cur.fetchall()}


class Spans:
    """The ingest's side: the raw records parsed in this delivery, by the positions of their items."""

    def __init__(self, known: KnownInputs | None) -> None:
        self.known = known
        self.rows: list[tuple[bytes, str | None, int, int]] = []  # (key, note, first seq, last seq)
        self._open: tuple[bytes, int] | None = None
        self._created = False
        #: the known raw records of this delivery: (key, first seq, ref, refs as a text[] literal), and
        #: how many items they make
        self.known_rows: list[tuple[bytes, int, str, str | None]] = []
        self.known_items = 0
        self._known_created = False

    def skip(self, span: KnownSpan, seq: int, ref: str, refs: Sequence[str] | None = None) -> None:
        """A known raw record whose items take the positions after ``seq``: counted unchanged by
        ``fill_unchanged``, each under ``ref`` or, where given, its own of ``refs``."""
        self.known_rows.append((span.known.key, seq + 1, ref, None if refs is None else text_array(refs)))
        self.known_items += span.known.count

    def start(self, item: SpanStart, seq: int) -> None:
        self._open = None if self.known is None else (self.known.key(item.digest), seq + 1)

    def warning(self) -> None:
        self._open = None  # a warning is said again only if the record is parsed again

    def end(self, item: SpanEnd, seq: int) -> None:
        if self._open is not None and item.keep and seq >= self._open[1]:
            self.rows.append((self._open[0], item.note, self._open[1], seq))
        self._open = None

    def copy(self, conn: Connection, cur: Cursor[Any]) -> None:
        """The chunk's known and parsed raw records into their temporary tables (made on first need)."""
        if self.known_rows:
            self._known_created = _copy_rows(conn, cur, _STAGE_KNOWN, self.known_rows, self._known_created)
        if self.rows:
            self._created = _copy_rows(conn, cur, _STAGE_SPAN, self.rows, self._created)

    def fill_unchanged(self, conn: Connection) -> None:
        """The known raw records' items into ``stage_unchanged`` (position, ref, source key, id), as the
        content hash would have put them there: one statement for the batch, before ``write``."""
        if not self._known_created:
            return
        filled = conn.execute(
            text(
                """
                INSERT INTO stage_unchanged (seq, ref, source_key, achievement_id)
                SELECT s.first_seq + i.n - 1, coalesce(s.refs[i.n], s.ref), i.source_key, i.achievement_id
                FROM stage_known s
                JOIN (SELECT DISTINCT digest, n, source_key, achievement_id FROM known_items) i
                  ON i.digest = s.digest
                """
            )
        ).rowcount
        if filled != self.known_items:  # a digest looked up twice with other items: not expected
            raise RuntimeError(f"known input: {filled} items found of {self.known_items} looked up")

    def remember(self, conn: Connection, batch_id: uuid.UUID, provider_id: int) -> None:
        """Keep the raw records whose every item was accepted (``import_record`` has each position),
        with their achievements' ids and content hashes; after ``write``, in the batch's transaction."""
        if not self._created:
            return
        # A span of one item (a CSV row making one record, most of them) finds its import_record row
        # and its achievement by one probe of each primary key (subqueries, on purpose: as joins, on
        # statistics not yet gathered after the population's imports, the benchmark's plan took 6.8 s
        # for 7 977 rows, against 0.2 s). A longer span's items are found by one probe of
        # import_record's primary key per span (LATERAL, on purpose: as a join on a range the planner
        # scanned the batch's records once per span — 2.1 s of a 4.6 s first import of 4 500 rows).
        # The LATERAL aggregate for every span was 0.48–0.70 s for 27 216 one-item spans.
        conn.execute(text("ANALYZE stage_span"))
        conn.execute(
            text(
                f"""
                INSERT INTO known_input (provider_id, digest, note, achievement_ids, content_hashes)
                SELECT DISTINCT ON (digest) :provider, digest, note, ids, hashes
                FROM (
                    SELECT one.digest, one.first_seq, one.note, ARRAY[one.id] AS ids,
                           (SELECT {_CUT_CONTENT_HASH} FROM achievement a WHERE a.id = one.id) AS hashes
                    FROM (
                        SELECT sp.digest, sp.first_seq, sp.note,
                               (SELECT r.achievement_id FROM import_record r
                                WHERE r.batch_id = :batch AND r.seq = sp.first_seq) AS id
                        FROM stage_span sp
                        WHERE sp.last_seq = sp.first_seq
                    ) one
                    WHERE one.id IS NOT NULL
                    UNION ALL
                    SELECT sp.digest, sp.first_seq, sp.note, r.ids, r.hashes
                    FROM stage_span sp
                    CROSS JOIN LATERAL (
                        SELECT count(*) AS n, array_agg(r.achievement_id ORDER BY r.seq) AS ids,
                               string_agg({_CUT_CONTENT_HASH}, ''::bytea ORDER BY r.seq) AS hashes
                        FROM import_record r JOIN achievement a ON a.id = r.achievement_id
                        WHERE r.batch_id = :batch AND r.seq BETWEEN sp.first_seq AND sp.last_seq
                    ) r
                    WHERE sp.last_seq > sp.first_seq AND r.n = sp.last_seq - sp.first_seq + 1
                ) span
                ORDER BY digest, first_seq
                ON CONFLICT (provider_id, digest) DO UPDATE
                SET note = excluded.note, achievement_ids = excluded.achievement_ids,
                    content_hashes = excluded.content_hashes
                """
            ),
            {"provider": provider_id, "batch": batch_id},
        )


def text_array(values: Sequence[str]) -> str:
    """``values`` in PostgreSQL's text form of a ``text[]``, every element in double quotes (a double
    quote or a backslash inside escaped with a backslash), for a COPY in text format to read as the
    array. psycopg's own list dumper, called per row, takes ~50 µs for a vitnemål's 23 refs — 0.49 s
    for the 9 091 known groups of a primary CSV re-send of 200 000 rows (timeit) — where this takes
    ~5 µs."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def sweep(conn: Connection) -> int:
    """Forget the raw records no lookup can find again: one of whose achievements is gone or no longer
    carries the stored content hash (corrected, withdrawn with another content, erased). Sound at any
    time: such a row already counts as changed at every lookup, so deleting it costs only the skip if
    the achievement should ever return to exactly that content (its bytes are then read and remembered
    anew); an import under way counts its known records from what its lookups copied, not from here.
    Returns the number of rows removed. One statement; run it where the register's upkeep runs."""
    return conn.execute(
        text(
            f"""
            DELETE FROM known_input k
            WHERE EXISTS (
                SELECT 1 FROM unnest(k.achievement_ids) WITH ORDINALITY u(id, n)
                WHERE NOT EXISTS (
                    SELECT 1 FROM achievement a
                    WHERE a.id = u.id
                      AND {_CUT_CONTENT_HASH} = {_STORED_HASH}
                )
            )
            """
        )
    ).rowcount


#: the temporary tables of a delivery's raw records, each with its columns and their types in COPY order
_STAGE_KNOWN = (
    "stage_known",
    (("digest", "bytea"), ("first_seq", "int"), ("ref", "text"), ("refs", "text[]")),
)
_STAGE_SPAN = (
    "stage_span",
    (("digest", "bytea"), ("note", "text"), ("first_seq", "int"), ("last_seq", "int")),
)


def _copy_rows(
    conn: Connection,
    cur: Cursor[Any],
    table: tuple[str, tuple[tuple[str, str], ...]],
    rows: list[Any],
    created: bool,
) -> bool:
    """COPY ``rows`` into the temporary table (created first unless ``created``) and empty ``rows``."""
    name, columns = table
    if not created:
        conn.execute(
            text(f"CREATE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns)}) ON COMMIT DROP")
        )
    with cur.copy(f"COPY {name} ({', '.join(c for c, _ in columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    rows.clear()
    return True
