"""The ingest service: the one way records enter the database.

``ingest`` takes the items an importer yields and writes them in the caller's transaction:

1. Each record is checked in Python where the check needs no database (national id check digits,
   grade on its scale, organisation known and delivered for) — cheap, and the error names the record.
2. The good records are streamed with COPY into temporary staging tables, in chunks (bounded memory).
3. Everything else is set-based SQL over the staging tables: duplicate keys in the batch, persons
   found or created by identifier, specifications shared by content, parents resolved, and then one
   INSERT for new achievements and one UPDATE for changed ones, with the superseded versions copied
   to ``achievement_version`` first. An identical re-send matches every content hash and writes nothing.

Bulk on purpose: a row-by-row ORM loop costs a round trip per record; COPY plus a handful of
statements costs the same few round trips for ten rows or ten million.

The caller owns the transaction (see ``intake.batches``): if anything raises, nothing of the batch
is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from psycopg import Cursor
from sqlalchemy import Connection, text

from register import identity, stats
from register.grading import (
    NKR_TO_EQF,
    CreditScheme,
    GradeScheme,
    UnknownGrade,
    is_valid_eqf,
    normalize_grade,
)
from register.locks import LockKey
from register.records import (
    AchievementRecord,
    BatchWarning,
    InvalidText,
    OrgRef,
    PersonIn,
    RecordError,
    spec_content_key,
)
from register.sectors import check_sector
from register.text import clean_text, find_invalid_text, find_overlong_text
from register.uuids import uuid7

#: errors kept in memory for the report; all of them are stored in import_rejection
REPORT_ERROR_LIMIT = 1000
#: rejections stored per batch (import_rejection); past this they are only counted
REJECTIONS_STORED = 100_000
#: characters of a rejection's record reference and path, and of its message, that are stored
MAX_REF = 1_000
MAX_MESSAGE = 4_000
#: warnings kept on the batch; past this only their number is (a warning per record is possible)
WARNING_LIMIT = 1000

_STAGE_COLUMNS = (
    "seq", "new_id", "ref", "source_key", "parent_key", "learner", "pid_kind", "pid_scheme", "pid_value", "given_name", "family_name", "birth_date", "awarding_org_id",
    "spec_key", "sector", "kind", "grade_scheme", "grade_value", "grade_passed", "credits", "credit_scheme",
    "completed_on", "year", "term", "status", "withdrawal_reason", "details", "content_hash",
)  # fmt: skip
_SPEC_COLUMNS = (
    "content_key", "kind", "code", "code_scheme", "owner_id", "title", "description", "credits",
    "credit_scheme", "nkr_level", "eqf_level", "nus_code", "iscedf_code", "learning_outcomes", "details",
)  # fmt: skip


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0  # new or changed (a withdrawal is a change)
    unchanged: int = 0
    rejected: int = 0
    errors: list[RecordError] = field(default_factory=list)  # the first REPORT_ERROR_LIMIT
    warnings: list[BatchWarning] = field(default_factory=list)  # the first WARNING_LIMIT
    warning_count: int = 0
    rejections_stored: int = 0


@dataclass(frozen=True, slots=True)
class OrganisationIndex:
    """The cross-walk in memory for one batch: a few thousand organisations at most."""

    by_code: dict[tuple[str, str], int]
    may_deliver_for: frozenset[int]  # the provider itself and those it delivers for
    kinds: dict[int, str] = field(default_factory=dict)  # organisation id → kind (register.sectors)

    @classmethod
    def load(cls, conn: Connection, provider_id: int) -> OrganisationIndex:
        by_code: dict[tuple[str, str], int] = {}
        kinds: dict[int, str] = {}
        for org_id, orgnr, kind in conn.execute(text("SELECT id, orgnr, kind FROM organisation")):
            kinds[org_id] = kind
            if orgnr is not None:
                by_code[("orgnr", orgnr)] = org_id
        for org_id, scheme, value in conn.execute(
            text("SELECT organisation_id, scheme, value FROM organisation_code")
        ):
            by_code[(scheme, normalize_code(scheme, value))] = org_id
        allowed = {provider_id}
        allowed.update(
            row[0]
            for row in conn.execute(
                text("SELECT on_behalf_of_id FROM organisation_delivery WHERE deliverer_id = :p"),
                {"p": provider_id},
            )
        )
        return cls(by_code=by_code, may_deliver_for=frozenset(allowed), kinds=kinds)

    def resolve(self, ref: OrgRef) -> int | None:
        for candidate in (ref, *ref.alternatives):
            found = self.by_code.get((candidate.scheme, normalize_code(candidate.scheme, candidate.value)))
            if found is not None:
                return found
        return None


def normalize_code(scheme: str, value: str) -> str:
    """Codes as written differently by different systems: Erasmus codes are padded with one space or
    two ("N  OSLO01"), SCHAC domains are case-insensitive, organisation numbers come with spaces."""
    value = value.strip()
    if scheme == "erasmus":
        return " ".join(value.split()).upper()
    if scheme == "schac":
        return value.lower()
    if scheme == "orgnr":
        return value.replace(" ", "")
    return value


@dataclass(slots=True)
class _Staged:
    row: tuple[Any, ...]
    identifiers: list[tuple[str, str, str]]  # (kind, scheme, value); the first is the primary
    spec: tuple[Any, ...] | None  # only the first time a spec key is seen in the batch
    attachments: list[tuple[str, str | None, bytes, str]]


class _RecordRejected(Exception):
    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        self.code, self.message, self.path = code, message, path


class _Rejections:
    """Numbering, storage and the in-memory sample of a batch's rejections.

    Bounded both ways: written out every FLUSH_EVERY rejections (a file of a million broken lines must
    not sit in memory), and stored up to REJECTIONS_STORED per batch; past that they are counted, and
    the batch details say how many were stored.
    """

    FLUSH_EVERY = 5_000

    def __init__(self, cur: Cursor[Any], batch_id: uuid.UUID, result: IngestResult) -> None:
        self.cur, self.batch_id, self.result = cur, batch_id, result
        self.pending: list[RecordError] = []
        self.next_seq = 1

    @property
    def stored(self) -> int:
        return self.next_seq - 1

    def add(self, error: RecordError) -> None:
        self.result.rejected += 1
        if self.stored + len(self.pending) >= REJECTIONS_STORED:
            return
        # An importer's message may quote a delivered value: keep it storable whatever it holds, and
        # of a bounded length (a message quoting a 9 MiB value would be stored and shown whole).
        error = RecordError(
            clean_text(error.record[:MAX_REF]),
            clean_text(error.code[:MAX_REF]),
            clean_text(error.message[:MAX_MESSAGE]),
            None if error.path is None else clean_text(error.path[:MAX_REF]),
        )
        if len(self.result.errors) < REPORT_ERROR_LIMIT:
            self.result.errors.append(error)
        self.pending.append(error)
        if len(self.pending) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        with self.cur.copy(
            "COPY import_rejection (batch_id, seq, record, path, code, message) FROM STDIN"
        ) as copy:
            for error in self.pending:
                copy.write_row(
                    (self.batch_id, self.next_seq, error.record, error.path, error.code, error.message)
                )
                self.next_seq += 1
        self.pending.clear()

    def from_sql(self, conn: Connection, select_sql: str, params: dict[str, Any]) -> int:
        """Record rejections found by set-based SQL: ``select_sql`` yields (record, path, code, message)."""
        rows = conn.execute(text(select_sql), params).all()
        for record, path, code, message in rows:
            self.add(RecordError(record=record, path=path, code=code, message=message))
        return len(rows)


def ingest(
    conn: Connection,
    *,
    batch_id: uuid.UUID,
    provider_id: int,
    items: Iterable[AchievementRecord | RecordError | BatchWarning],
    allow_synthetic_ids: bool,
    chunk_rows: int = 10_000,
    on_record: Callable[[], None] | None = None,
) -> IngestResult:
    """Validate and write one batch of records in the caller's transaction.

    Upserts by (awarding organisation, source key) — the same result whichever entitled organisation
    delivers it: an identical re-send changes nothing, a changed record gets a new version (the old
    one kept in ``achievement_version``), a withdrawal is a status. Records that fail a rule are
    reported with reference, path, code and message; the rest are written.
    """
    result = IngestResult()
    cur: Cursor[Any] = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    rejections = _Rejections(cur, batch_id, result)
    orgs = OrganisationIndex.load(conn, provider_id)

    _create_staging_tables(conn)

    seen_specs: set[str] = set()
    persons = _PersonMemo(allow_synthetic_ids)
    pending: list[tuple[int, AchievementRecord]] = []

    def flush() -> None:
        hashed: list[tuple[int, AchievementRecord, str]] = []
        for seq, record in pending:
            overlong = find_overlong_text(record)
            if overlong is not None:  # before hashing: a 9 MiB name is not worth serializing
                rejections.add(
                    RecordError(record.ref[:MAX_REF], "text.too_long", overlong.message, overlong.path)
                )
                continue
            try:
                hashed.append((seq, record, record.content_hash()))
            except InvalidText as exc:
                path = find_invalid_text(dataclasses.replace(record, ref="")) or "record"
                rejections.add(
                    RecordError(clean_text(record.ref), "text.invalid_character", f"{path}: {exc}", path)
                )
        # One indexed query per chunk tells which records are stored with the same content: those
        # are counted unchanged and skip validation and staging, so a re-send costs little more
        # than reading the file.
        # Only for organisations the provider may deliver for: anyone else's key is not its business
        # (and is refused at staging).
        keyed = [(orgs.resolve(record.awarding_org), record.source_key) for _, record, _ in hashed]
        stored = _stored_hashes(conn, [(org, key) for org, key in keyed if org in orgs.may_deliver_for])
        staged: list[_Staged] = []
        unchanged: list[tuple[int, str, str]] = []
        for (seq, record, content_hash), key in zip(hashed, keyed, strict=True):
            if stored.get(key) == content_hash:
                unchanged.append((seq, clean_text(record.ref), record.source_key))
                continue
            try:
                staged.append(_stage_record(seq, record, content_hash, orgs, seen_specs, persons))
            except _RecordRejected as rejected:
                rejections.add(RecordError(record.ref, rejected.code, rejected.message, rejected.path))
        _copy_chunk(cur, staged, unchanged)
        rejections.flush()
        pending.clear()

    seq = 0
    for item in items:
        if isinstance(item, BatchWarning):
            result.warning_count += 1
            if len(result.warnings) < WARNING_LIMIT:
                result.warnings.append(_clean_warning(item))
        elif isinstance(item, RecordError):
            rejections.add(item)
        else:
            seq += 1
            pending.append((seq, item))
            if on_record is not None:
                on_record()
            if len(pending) >= chunk_rows:
                flush()
    flush()

    written = _write(
        conn, batch_id=batch_id, provider_id=provider_id, rejections=rejections, entitled=orgs.may_deliver_for
    )
    rejections.flush()
    result.rejections_stored = rejections.stored
    result.accepted = written.written
    result.unchanged = written.total - written.written
    stats.mark_batch_pending(conn, batch_id)  # counted by the refresh after the commit
    return result


def _clean_warning(warning: BatchWarning) -> BatchWarning:
    return BatchWarning(
        code=clean_text(warning.code),
        message=clean_text(warning.message),
        record=None if warning.record is None else clean_text(warning.record),
        path=None if warning.path is None else clean_text(warning.path),
    )


def _stored_hashes(conn: Connection, keys: list[tuple[int | None, str]]) -> dict[tuple[int | None, str], str]:
    """The stored content hash of each (awarding organisation, source key): one probe of the unique
    (source key, awarding organisation) index per key; the pairs are matched here."""
    if not keys:
        return {}
    rows = conn.execute(
        text(
            """SELECT awarding_org_id, source_key, content_hash FROM achievement
               WHERE source_key = ANY(:keys) AND awarding_org_id = ANY(:orgs)"""
        ),
        {"keys": [key for _, key in keys], "orgs": list({org for org, _ in keys})},
    )
    wanted = set(keys)
    return {(org, key): h for org, key, h in rows if (org, key) in wanted}


# --- per-record checks (no database) ------------------------------------------------------------


def _stage_record(
    seq: int,
    record: AchievementRecord,
    content_hash: str,
    orgs: OrganisationIndex,
    seen_specs: set[str],
    persons: _PersonMemo,
) -> _Staged:
    identifiers, learner = persons.identifiers_of(record.person)  # the first is the anchor

    awarding = orgs.resolve(record.awarding_org)
    if awarding is None:
        raise _RecordRejected(
            "organisation.unknown",
            f"awarding organisation {_named(record.awarding_org)} is not registered",
            "awarding_org",
        )
    if awarding not in orgs.may_deliver_for:
        raise _RecordRejected(
            "organisation.not_authorised",
            f"the provider is not registered to deliver for {_named(record.awarding_org)}",
            "awarding_org",
        )

    spec = record.specification
    owner_id = None
    if spec.owner is not None:
        owner_id = orgs.resolve(spec.owner)
        if owner_id is None:
            raise _RecordRejected(
                "organisation.unknown",
                f"owner {_named(spec.owner)} of the specification is not registered",
                "specification.owner",
            )
    if not spec.title or not any(t.strip() for t in spec.title.values()):
        raise _RecordRejected(
            "specification.title_missing", "the specification has no title", "specification.title"
        )
    eqf = spec.eqf_level
    if spec.nkr_level is not None:
        if spec.nkr_level not in NKR_TO_EQF:
            raise _RecordRejected(
                "level.invalid",
                f"NKR level {spec.nkr_level!r} is not one of {', '.join(NKR_TO_EQF)}",
                "specification.nkr_level",
            )
        eqf = eqf or NKR_TO_EQF[spec.nkr_level]
    if eqf is not None and not is_valid_eqf(eqf):
        raise _RecordRejected(
            "level.invalid", f"EQF level {eqf} is not between 1 and 8", "specification.eqf_level"
        )
    _check_credits(spec.credits, spec.credit_scheme, "specification.credits")
    _check_credits(record.credits, record.credit_scheme, "credits")
    problem = check_sector(
        record.sector, orgs.kinds.get(awarding, "other"), nkr_level=spec.nkr_level, eqf_level=eqf,
        credit_schemes=(record.credit_scheme, spec.credit_scheme),
    )  # fmt: skip
    if problem is not None:
        raise _RecordRejected(problem.code, problem.message, problem.path)

    grade_scheme = grade_value = None
    passed: bool | None = None
    details = dict(record.details or {})
    if record.grade is not None:
        grade_scheme, grade_value, passed = _grade(record)
        if record.grade.value.strip() != grade_value:
            details["grade_as_delivered"] = record.grade.value.strip()
        if record.grade.scheme_description:
            details["grading_scheme"] = record.grade.scheme_description
    credits, credit_scheme = record.credits, record.credit_scheme
    if passed is False and credits:
        # A failed result never awards credits: none are stored (so no sum counts them), and the value
        # delivered is kept in details exactly.
        details.setdefault("credits_as_delivered", str(credits))
        credits, credit_scheme = None, None

    if record.status not in ("valid", "withdrawn"):
        raise _RecordRejected(
            "status.invalid", f"status {record.status!r} is not valid or withdrawn", "status"
        )
    if record.status == "withdrawn" and not (record.withdrawal_reason or "").strip():
        raise _RecordRejected("withdrawal.reason_missing", "a withdrawal needs a reason", "withdrawal_reason")

    if eqf != spec.eqf_level:
        spec = dataclasses.replace(spec, eqf_level=eqf)
    spec_key = spec_content_key(spec, owner_id)
    spec_row = None
    if spec_key not in seen_specs:
        seen_specs.add(spec_key)
        spec_row = (
            spec_key, spec.kind.value, spec.code, spec.code_scheme, owner_id, _json(spec.title),
            _json(spec.description), spec.credits, _enum(spec.credit_scheme), spec.nkr_level, eqf, spec.nus_code,
            spec.iscedf_code, _json(list(spec.learning_outcomes)) if spec.learning_outcomes else None,
            _json(spec.details),
        )  # fmt: skip

    year = (
        record.year
        if record.year is not None
        else (record.completed_on.year if record.completed_on else None)
    )
    row = (
        seq, uuid7(), clean_text(record.ref), record.source_key, record.parent_key, learner,
        *identifiers[0], record.person.given_name, record.person.family_name,
        record.person.birth_date, awarding, spec_key, record.sector.value, record.kind.value, grade_scheme,
        grade_value, passed, credits, _enum(credit_scheme), record.completed_on, year, record.term,
        record.status, record.withdrawal_reason, _json(details or None), content_hash,
    )  # fmt: skip
    attachments = [(a.media_type, a.title, a.content, _sha256(a.content)) for a in record.attachments]
    return _Staged(row=row, identifiers=identifiers, spec=spec_row, attachments=attachments)


class _PersonMemo:
    """The last person's checked identifiers, for one ingest.

    Importers hand the same PersonIn object to all records of one person (a vitnemål's twenty
    subjects), so its identifiers are checked once. Compared by identity: nothing to hash.
    """

    def __init__(self, allow_synthetic: bool) -> None:
        self.allow_synthetic = allow_synthetic
        self.person: PersonIn | None = None
        self.identifiers: list[identity.Identifier] = []
        self.learner = ""

    def identifiers_of(self, person: PersonIn) -> tuple[list[identity.Identifier], str]:
        """The identifiers, the anchor first, and the learner key (register.identity)."""
        if person is not self.person:
            try:
                self.identifiers = identity.learner_identifiers(person.identifiers, self.allow_synthetic)
            except identity.Rejected as exc:
                raise _RecordRejected(exc.code, exc.message, exc.path) from None
            self.learner = identity.learner_key(self.identifiers)
            self.person = person
        return self.identifiers, self.learner


def _named(ref: OrgRef) -> str:
    return " / ".join(str(r) for r in (ref, *ref.alternatives))


def _grade(record: AchievementRecord) -> tuple[str, str, bool | None]:
    assert record.grade is not None
    grade = record.grade
    if not grade.value.strip():
        raise _RecordRejected("grade.missing", "the grade is empty", "grade")
    if grade.scheme is GradeScheme.EXTERNAL:
        return grade.scheme.value, grade.value.strip(), grade.passed
    try:
        normalized = normalize_grade(grade.scheme, grade.value)
    except UnknownGrade as exc:
        raise _RecordRejected("grade.invalid", str(exc), "grade") from None
    # The column holds the scale's canonical spelling, so "Bestått" and "bestått" are one grade in
    # statistics; the spelling as delivered is kept in details when it differs (see _stage_record).
    # A pass/fail the format delivered itself (ELMO status) wins over the scale's.
    passed = normalized.passed if grade.passed is None else grade.passed
    return grade.scheme.value, normalized.value, passed


def _check_credits(credits: Decimal | None, scheme: CreditScheme | None, path: str) -> None:
    if credits is None:
        return
    if scheme is None:
        raise _RecordRejected(
            "credits.scheme_missing", "credits need a credit scheme (ects, fagskolepoeng, hours)", path
        )
    if credits < 0 or credits > 1000:
        raise _RecordRejected("credits.out_of_range", f"credits {credits} are outside 0–1000", path)


def _json(value: Any) -> str | None:
    # orjson: this runs for every staged record's details; dates and enums natively, Decimal as text.
    return (
        None if value is None else orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    )


def _enum(value: Any) -> str | None:
    return None if value is None else str(value.value)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- staging -------------------------------------------------------------------------------------


def _create_staging_tables(conn: Connection) -> None:
    conn.execute(
        text(
            """
            CREATE TEMP TABLE stage (
                seq int PRIMARY KEY, new_id uuid NOT NULL, ref text, source_key text NOT NULL, parent_key text,
                learner text NOT NULL,
                pid_kind text NOT NULL, pid_scheme text NOT NULL, pid_value text NOT NULL, given_name text, family_name text, birth_date date, awarding_org_id int NOT NULL,
                spec_key text NOT NULL, sector text, kind text, grade_scheme text, grade_value text,
                grade_passed boolean, credits numeric, credit_scheme text, completed_on date, year smallint,
                term text, status text, withdrawal_reason text, details jsonb, content_hash text
            ) ON COMMIT DROP;
            CREATE TEMP TABLE stage_unchanged (seq int, ref text, source_key text) ON COMMIT DROP;
            CREATE TEMP TABLE stage_identifier (
                seq int, kind text, scheme text, value text
            ) ON COMMIT DROP;
            CREATE TEMP TABLE stage_spec (
                content_key text, kind text, code text, code_scheme text, owner_id int, title jsonb,
                description jsonb, credits numeric, credit_scheme text, nkr_level text, eqf_level smallint,
                nus_code text, iscedf_code text, learning_outcomes jsonb, details jsonb
            ) ON COMMIT DROP;
            CREATE TEMP TABLE stage_attachment (
                seq int, media_type text, title text, content bytea, sha256 text
            ) ON COMMIT DROP;
            """
        )
    )


def _copy_chunk(cur: Cursor[Any], chunk: list[_Staged], unchanged: list[tuple[int, str, str]]) -> None:
    if unchanged:
        with cur.copy("COPY stage_unchanged (seq, ref, source_key) FROM STDIN") as copy:
            for row in unchanged:
                copy.write_row(row)
    if not chunk:
        return
    with cur.copy(f"COPY stage ({', '.join(_STAGE_COLUMNS)}) FROM STDIN") as copy:
        for staged in chunk:
            copy.write_row(staged.row)
    if any(len(s.identifiers) > 1 for s in chunk):
        with cur.copy("COPY stage_identifier (seq, kind, scheme, value) FROM STDIN") as copy:
            for staged in chunk:
                for ident in staged.identifiers[1:]:  # the primary one is on the stage row
                    copy.write_row((staged.row[0], *ident))
    specs = [s.spec for s in chunk if s.spec is not None]
    if specs:
        with cur.copy(f"COPY stage_spec ({', '.join(_SPEC_COLUMNS)}) FROM STDIN") as copy:
            for spec in specs:
                copy.write_row(spec)
    if any(s.attachments for s in chunk):
        with cur.copy("COPY stage_attachment (seq, media_type, title, content, sha256) FROM STDIN") as copy:
            for staged in chunk:
                for attachment in staged.attachments:
                    copy.write_row((staged.row[0], *attachment))


# --- set-based writing ---------------------------------------------------------------------------

LEARNER_CHANGED = (
    "this record is stored for another person; a result never moves between persons. If it was "
    "delivered for the wrong person, withdraw it (status withdrawn, with a reason) and deliver the "
    "result for the right person under a new source key"
)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class _Written:
    total: int  # records that survived every check: staged ones and those found unchanged
    written: int  # new + changed


def _write(
    conn: Connection,
    *,
    batch_id: uuid.UUID,
    provider_id: int,
    rejections: _Rejections,
    entitled: frozenset[int],
) -> _Written:
    p = {"provider": provider_id, "batch": batch_id, "entitled": sorted(entitled)}
    # A result is identified by (awarding organisation, source key), whoever of those entitled delivers
    # it: batches writing results of the same organisation are serialized on that organisation, so a
    # school and its county sending the same file at once never both insert a key. The locks are taken
    # in ascending order in one statement (two batches never hold one each while waiting for the
    # other), before anything else is locked; batches for different organisations run in parallel.
    conn.execute(
        text(
            """SELECT count(pg_advisory_xact_lock(:lock, org))
               FROM (SELECT DISTINCT awarding_org_id AS org FROM stage ORDER BY 1) o"""
        ),
        {"lock": LockKey.INGEST_ORGANISATION},
    )
    conn.execute(
        text(
            """
            CREATE INDEX ON stage (source_key);
            CREATE INDEX ON stage (parent_key) WHERE parent_key IS NOT NULL;
            CREATE INDEX ON stage_identifier (seq);
            ANALYZE stage; ANALYZE stage_identifier; ANALYZE stage_unchanged;
            """
        )
    )

    # The same source key twice in one delivery: keep the first, reject the rest (unchanged records,
    # which were not staged, count as occurrences too).
    rejections.from_sql(
        conn,
        """
        WITH occurrence AS (
            SELECT seq, ref, source_key, false AS unchanged FROM stage
            UNION ALL SELECT seq, ref, source_key, true FROM stage_unchanged
        ), repeated AS (
            SELECT source_key FROM occurrence GROUP BY source_key HAVING count(*) > 1
        ), ranked AS (
            SELECT o.*, first_value(o.ref) OVER w AS first_ref, row_number() OVER w AS n
            FROM occurrence o JOIN repeated USING (source_key)
            WINDOW w AS (PARTITION BY o.source_key ORDER BY o.seq)
        ), dropped AS (
            DELETE FROM stage s USING ranked r WHERE r.n > 1 AND NOT r.unchanged AND r.seq = s.seq
        ), dropped_unchanged AS (
            DELETE FROM stage_unchanged u USING ranked r WHERE r.n > 1 AND r.unchanged AND r.seq = u.seq
        )
        SELECT ref, 'source_key', 'source_key.duplicate',
               'the same record key appears earlier in this delivery (' || first_ref || ')'
        FROM ranked WHERE n > 1 ORDER BY seq
        """,
        p,
    )

    identity.resolve_persons(conn, rejections, batch_id=batch_id)

    conn.execute(
        text(
            """
            INSERT INTO learning_specification (content_key, kind, code, code_scheme, owner_id, title,
                description, credits, credit_scheme, nkr_level, eqf_level, nus_code, iscedf_code,
                learning_outcomes, details)
            SELECT content_key, kind, code, code_scheme, owner_id, title, description, credits, credit_scheme,
                   nkr_level, eqf_level, nus_code, iscedf_code, learning_outcomes, details
            FROM stage_spec
            ON CONFLICT (content_key) DO NOTHING;

            -- Each staged record with its person and specification ids, joined where used instead of
            -- written back into the staging table (an UPDATE would rewrite every staged row).
            CREATE TEMP VIEW staged AS
            SELECT s.*, pm.person_id, ls.id AS spec_id
            FROM stage s
            JOIN person_map pm ON pm.learner = s.learner
            JOIN learning_specification ls ON ls.content_key = s.spec_key;
            """
        )
    )

    # What is stored already, per staged record: the row it updates and the parent it names. Found by
    # one probe of the (source key, awarding organisation) index per record, on purpose (LATERAL … LIMIT 1 is not
    # flattened into a join): with a provider's rows inserted since the table was last analyzed, the
    # planner believes it has none and once chose to rescan all of them for every staged record (a
    # 200 000-record delivery ran for over ten minutes at 9 M achievements). Later statements join
    # this small, analyzed table instead of the achievements.
    conn.execute(
        text(
            """
            CREATE TEMP TABLE stored ON COMMIT DROP AS
            SELECT s.seq, cur.id, cur.content_hash, cur.person_id, par.id AS parent_id,
                   par.person_id AS parent_person_id
            FROM staged s
            LEFT JOIN LATERAL (SELECT a.id, a.content_hash, a.person_id FROM achievement a
                               WHERE a.source_key = s.source_key AND a.awarding_org_id = s.awarding_org_id
                               LIMIT 1) cur ON true
            -- The parent: the same person's record under that key, of an organisation the provider may
            -- deliver for (its own awarding organisation first, when several have one).
            LEFT JOIN LATERAL (SELECT a.id, a.person_id FROM achievement a
                               WHERE s.parent_key IS NOT NULL AND a.source_key = s.parent_key
                                 AND a.person_id = s.person_id AND a.awarding_org_id = ANY(:entitled)
                               ORDER BY a.awarding_org_id = s.awarding_org_id DESC LIMIT 1) par ON true
            """
        ),
        p,
    )
    conn.execute(text("CREATE UNIQUE INDEX ON stored (seq); ANALYZE stored;"))

    # Records keep their learner (I6 of register.identity): a stored result re-delivered for another
    # person is refused, never moved — the other person would silently lose it.
    rejections.from_sql(
        conn,
        f"""
        WITH moved AS (
            DELETE FROM stage s USING stored st, person_map pm
            WHERE st.seq = s.seq AND pm.learner = s.learner AND st.person_id <> pm.person_id
            RETURNING s.seq, s.ref
        )
        SELECT ref, 'person', 'record.learner_changed', {_sql_text(LEARNER_CHANGED)} FROM moved ORDER BY seq
        """,
        p,
    )

    # A child needs its parent: delivered in this batch (and not rejected) or delivered earlier, and
    # belonging to the same person. Rejecting a parent rejects its children, so repeat until stable.
    while rejections.from_sql(
        conn,
        """
        WITH orphan AS (
            SELECT c.seq, c.ref, c.parent_key FROM staged c JOIN stored st ON st.seq = c.seq
            WHERE c.parent_key IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM staged p
                              WHERE p.source_key = c.parent_key AND p.person_id = c.person_id)
              AND st.parent_person_id IS DISTINCT FROM c.person_id
        ), dropped AS (
            DELETE FROM stage s USING orphan o WHERE o.seq = s.seq
        )
        SELECT ref, 'parent_key', 'part_of.unknown',
               'the parent record ' || quote_literal(parent_key)
               || ' is neither in this delivery (accepted) nor delivered earlier for the same person'
        FROM orphan
        """,
        p,
    ):
        pass

    total = conn.execute(
        text("SELECT (SELECT count(*) FROM stage) + (SELECT count(*) FROM stage_unchanged)")
    ).scalar_one()

    # History first: the current row of every record that changes is copied, as it is, to the
    # append-only version table before it is overwritten.
    conn.execute(
        text(
            """
            INSERT INTO achievement_version (achievement_id, version, person_id, batch_id, content_hash, status,
                                             content)
            SELECT a.id, a.version, a.person_id, a.batch_id, a.content_hash, a.status,
                   to_jsonb(a) - 'id' - 'version' - 'content_hash' - 'batch_id'
            FROM stage s JOIN stored st ON st.seq = s.seq
            CROSS JOIN LATERAL (SELECT * FROM achievement a WHERE a.id = st.id LIMIT 1) a
            WHERE st.content_hash <> s.content_hash
            """
        ),
        p,
    )
    # A parent is either stored already (its id stays) or new in this delivery (the id given to it
    # at staging): so children get part_of_id as they are written, never by a second UPDATE pass.
    # New rows go first, because a changed child may now point at a new parent; foreign keys are
    # checked at the end of each statement, so a parent and its children can arrive together.
    with_parent = """
        SELECT s.*, st.id AS stored_id, st.content_hash AS stored_hash,
               coalesce(st.parent_id, ps.new_id) AS parent_id
        FROM staged s JOIN stored st ON st.seq = s.seq
        LEFT JOIN stage ps ON s.parent_key IS NOT NULL AND ps.source_key = s.parent_key
    """
    # Ordered by person, so that one person's results lie together on disk: the portal's look-up
    # reads all of them at once.
    inserted = conn.execute(
        text(
            f"""
            INSERT INTO achievement (id, person_id, provider_id, source_key, awarding_org_id, specification_id,
                sector, kind, part_of_id, grade_scheme, grade_value, grade_passed, credits, credit_scheme,
                completed_on, year, term, status, withdrawal_reason, details, version, content_hash, batch_id)
            SELECT s.new_id, s.person_id, :provider, s.source_key, s.awarding_org_id, s.spec_id, s.sector, s.kind,
                   s.parent_id, s.grade_scheme, s.grade_value, s.grade_passed, s.credits,
                   s.credit_scheme, s.completed_on, s.year, s.term, s.status, s.withdrawal_reason, s.details, 1,
                   s.content_hash, :batch
            FROM ({with_parent}) s
            WHERE s.stored_id IS NULL
            ORDER BY s.person_id
            """
        ),
        p,
    ).rowcount
    changed = conn.execute(
        text(
            f"""
            UPDATE achievement a SET
                person_id = s.person_id, awarding_org_id = s.awarding_org_id, specification_id = s.spec_id,
                sector = s.sector, kind = s.kind, part_of_id = s.parent_id, grade_scheme = s.grade_scheme,
                grade_value = s.grade_value, grade_passed = s.grade_passed, credits = s.credits,
                credit_scheme = s.credit_scheme, completed_on = s.completed_on, year = s.year, term = s.term,
                status = s.status, withdrawal_reason = s.withdrawal_reason, details = s.details,
                version = a.version + 1, content_hash = s.content_hash, batch_id = :batch, updated_at = now(),
                provider_id = :provider
            FROM ({with_parent}) s
            WHERE a.id = s.stored_id AND s.stored_hash <> s.content_hash
            """
        ),
        p,
    ).rowcount
    conn.execute(
        text(
            """
            INSERT INTO achievement_attachment (achievement_id, version, person_id, media_type, title, content,
                                                sha256)
            SELECT a.id, a.version, a.person_id, sa.media_type, sa.title, sa.content, sa.sha256
            FROM stage_attachment sa JOIN stage s ON s.seq = sa.seq JOIN stored st ON st.seq = s.seq
                 JOIN achievement a ON a.id = coalesce(st.id, s.new_id)
            WHERE a.batch_id = :batch
            """
        ),
        p,
    )
    return _Written(total=total, written=changed + inserted)
