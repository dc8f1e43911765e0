"""The read side: a person's achievements, batches and their rejections — as typed views, not ORM rows.

Each function is a fixed number of indexed queries regardless of how much it returns (no N+1): a
person and their achievements come in one statement joined to their specification and awarding
organisation (``_READ``, the one read model of a person) and are nested in memory by ``part_of_id``.
REST's look-up encodes its rows, GraphQL builds on ``person_view`` and the ELMO export on ``person_rows``.

A little over 500 lines on purpose: the person's read model (with the student's ``Selection``) and the
batch reads (reports, rejections, per-record outcomes) share the row types and the statement helpers;
the batch reads are the part to move to a module of their own when either grows again.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import Connection, Engine, text

from register.grading import ASSESSMENTS


@dataclass(frozen=True, slots=True)
class OrganisationRef:
    orgnr: str | None
    name: str
    name_en: str | None
    kind: str
    country: str
    # The register's organisation id: GraphQL loads codes by it (foreign institutions have no orgnr).
    id: int | None = None


@dataclass(frozen=True, slots=True)
class SpecificationView:
    id: int
    kind: str
    code: str | None
    code_scheme: str | None
    title: dict[str, str]
    description: dict[str, str] | None
    credits: Decimal | None
    credit_scheme: str | None
    nkr_level: str | None
    eqf_level: int | None
    nus_code: str | None
    iscedf_code: str | None
    learning_outcomes: list[str] | None


@dataclass(frozen=True, slots=True)
class GradeView:
    scheme: str
    value: str  # the scale's canonical spelling for known scales ("bestått"), else as delivered
    passed: bool | None  # normalized: True passed, False failed, None pass/fail does not apply
    as_delivered: str  # exactly as the provider wrote it ("Bestått")


@dataclass(frozen=True, slots=True)
class Selection:
    """What a read gives out of a person's valid achievements: the student's choice, all by default.

    Every field narrows: ``achievements`` to those ids (exactly those: a degree chosen without its
    courses comes without them), ``sectors`` to those sectors, ``passed_only`` leaves out results
    explicitly not passed (``grade_passed`` false; an exemption stays), ``completed_from`` /
    ``completed_to`` to results completed on or between those dates (a result without a completion
    date is then left out). Hashable, so GraphQL keys its loaders by it.
    """

    achievements: tuple[uuid.UUID, ...] | None = None
    sectors: tuple[str, ...] | None = None
    passed_only: bool = False
    completed_from: dt.date | None = None
    completed_to: dt.date | None = None


EVERYTHING = Selection()


@dataclass(frozen=True, slots=True)
class AssessmentView:
    """How a school result was assessed, as delivered (``vurderingstype``): standpunkt or an exam and its form."""

    code: str  # as delivered, canonical: standpunkt, skriftlig_eksamen, muntlig_eksamen, orden, fagprove …
    type: str  # standpunkt, exam, conduct or trade_test
    form: str | None  # exams: written, oral, practical or oral_practical
    title: dict[str, str]  # nb and en


@dataclass(slots=True)
class AchievementView:
    id: uuid.UUID
    sector: str
    kind: str
    specification: SpecificationView
    awarding_organisation: OrganisationRef
    grade: GradeView | None
    credits: Decimal | None
    credit_scheme: str | None
    completed_on: dt.date | None
    year: int | None
    term: str | None
    version: int
    part_of_id: uuid.UUID | None
    assessment: AssessmentView | None = None
    programme: str | None = None  # utdanningsprogram, on a vitnemål or kompetansebevis
    parts: list[AchievementView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PersonView:
    id: uuid.UUID
    given_name: str | None
    family_name: str | None
    birth_date: dt.date | None
    achievements: list[AchievementView]  # the roots; degree → courses, vitnemål → subjects in ``parts``

    def achievement_ids(self) -> list[uuid.UUID]:
        """Every achievement given out, depth first (for the audit row)."""
        found: list[uuid.UUID] = []
        stack = list(reversed(self.achievements))
        while stack:
            node = stack.pop()
            found.append(node.id)
            stack.extend(reversed(node.parts))
        return found


def person_view(
    conn: Connection, person_id: uuid.UUID, selection: Selection = EVERYTHING
) -> PersonView | None:
    """The person and their valid achievements as selected (``Selection``), nested; None if no such person.

    A result whose parent is left out by the selection is shown at the top level rather than hidden.
    Built on ``person_rows``, the one read of a person that REST's look-up and the ELMO export use too.
    """
    rows = person_rows(conn, person_id, selection)
    if rows is None:
        return None
    return PersonView(
        id=uuid.UUID(rows.id),
        given_name=rows.given_name,
        family_name=rows.family_name,
        birth_date=rows.birth_date,
        achievements=_nest(_achievement(r) for r in rows.achievements),
    )


# The one order in which a person's achievements are read and given out, by every consumer.
_ORDER = "a.completed_on NULLS LAST, a.year NULLS LAST, s.code NULLS LAST, a.id"


# The one filter: each part of a Selection and its clause (the statement is cached per set of parts).
_CLAUSES = {
    "achievements": "a.id = ANY(%(achievements)s::uuid[])",
    "sectors": "a.sector = ANY(%(sectors)s)",
    "passed_only": "a.grade_passed IS NOT FALSE",
    "completed_from": "a.completed_on >= %(completed_from)s",
    "completed_to": "a.completed_on <= %(completed_to)s",
}


def _selection_params(selection: Selection) -> dict[str, Any]:
    """The parts of the selection in use, as the statement's parameters."""
    params: dict[str, Any] = {}
    if selection.achievements is not None:
        params["achievements"] = list(selection.achievements)
    if selection.sectors:
        params["sectors"] = list(selection.sectors)
    if selection.passed_only:
        params["passed_only"] = True
    if selection.completed_from is not None:
        params["completed_from"] = selection.completed_from
    if selection.completed_to is not None:
        params["completed_to"] = selection.completed_to
    return params


class AchievementRow(NamedTuple):
    """One achievement as the read model's single statement returns it: ready for JSON as it is.

    Ids are text (PostgreSQL prints a uuid as ``str(uuid.UUID)`` does), numbers are float (what the REST
    answer gives), and the jsonb columns are their JSON text, to be embedded without parsing.
    """

    id: str
    sector: str
    kind: str
    part_of_id: str | None
    grade_scheme: str | None
    grade_value: str | None
    grade_passed: bool | None
    grade_as_delivered: str | None
    credits: float | None
    credit_scheme: str | None
    completed_on: dt.date | None
    year: int | None
    term: str | None
    version: int
    spec_kind: str
    code: str | None
    code_scheme: str | None
    title_json: str
    description_json: str | None
    spec_credits: float | None
    spec_credit_scheme: str | None
    nkr_level: str | None
    eqf_level: int | None
    nus_code: str | None
    iscedf_code: str | None
    learning_outcomes_json: str | None
    assessment_code: str | None  # vurderingstype of a school result
    programme: str | None  # utdanningsprogram of a school document
    orgnr: str | None
    org_name: str
    org_name_en: str | None
    org_kind: str
    org_country: str
    specification_id: int
    awarding_org_id: int


@dataclass(frozen=True, slots=True)
class PersonRows:
    """A person and the achievements a read gives out, flat, in the one order (``_ORDER``)."""

    id: str
    given_name: str | None
    family_name: str | None
    birth_date: dt.date | None
    achievements: list[AchievementRow]


# The read model of a person: one column list (AchievementRow's), one filter (_CLAUSES), one order
# (_ORDER); only how the person is found differs (by national id for the look-up, by id otherwise).
_PERSON_COLUMNS = 4
_READ = """SELECT p.id::text, p.given_name, p.family_name, p.birth_date,
       a.id::text, a.sector, a.kind, a.part_of_id::text, a.grade_scheme, a.grade_value, a.grade_passed,
       a.details->>'grade_as_delivered', a.credits::float8, a.credit_scheme, a.completed_on, a.year,
       a.term, a.version,
       s.kind, s.code, s.code_scheme, s.title::text, s.description::text, s.credits::float8,
       s.credit_scheme, s.nkr_level, s.eqf_level, s.nus_code, s.iscedf_code, s.learning_outcomes::text,
       a.details->>'vurderingstype', a.details->>'utdanningsprogram',
       o.orgnr, o.name_nb, o.name_en, o.kind, o.country, a.specification_id, a.awarding_org_id
FROM {person}
LEFT JOIN achievement a ON a.person_id = p.id AND {given_out}
-- One primary-key probe per achievement, whatever the statistics say: at 29 M achievements the
-- planner guessed 670 per person (there are ~30) and hashed all 12 000 specifications per look-up.
LEFT JOIN LATERAL (SELECT * FROM learning_specification s WHERE s.id = a.specification_id LIMIT 1) s ON true
LEFT JOIN LATERAL (SELECT * FROM organisation o WHERE o.id = a.awarding_org_id LIMIT 1) o ON true
WHERE {which}
ORDER BY {order}"""
_BY_NIN = (
    "person_identifier i JOIN person p ON p.id = i.person_id",
    "i.kind = %(kind)s AND i.scheme = '' AND i.value = %(value)s",
)
_BY_ID = ("person p", "p.id = %(person)s")


@functools.cache
def _read_statement(by_nin: bool, parts: frozenset[str]) -> str:
    person, which = _BY_NIN if by_nin else _BY_ID
    given_out = ["a.status = 'valid'", *(clause for name, clause in _CLAUSES.items() if name in parts)]
    return _READ.format(person=person, given_out=" AND ".join(given_out), which=which, order=_ORDER)


def person_rows(
    conn: Connection, person_id: uuid.UUID, selection: Selection = EVERYTHING
) -> PersonRows | None:
    """The person's achievements as the read model gives them (flat, in order); None if no such person.

    GraphQL (through ``person_view``) and the ELMO export read a person here. Run through SQLAlchemy
    (``exec_driver_sql``), so the statement is seen by its events; the rows are the driver's own.
    """
    params = _selection_params(selection)
    statement = _read_statement(False, frozenset(params))
    params["person"] = person_id
    return person_rows_of(conn.exec_driver_sql(statement, params).all())


def nin_statement(kind: str, value: str, selection: Selection = EVERYTHING) -> tuple[str, dict[str, Any]]:
    """The look-up's hot path: the statement (and its parameters) that finds the holder of a national id,
    the person and their achievements in one round trip; ``person_rows_of`` makes its rows a
    ``PersonRows``, None if no person holds ``(kind, value)`` (see ``register.persons.nin_key``). Run on
    the driver's cursor (the look-up's asynchronous connection): SQLAlchemy's result layer costs more
    than the rows do here."""
    params = _selection_params(selection)
    statement = _read_statement(True, frozenset(params))
    params.update(kind=kind, value=value)
    return statement, params


def person_rows_of(rows: Sequence[Sequence[Any]]) -> PersonRows | None:
    if not rows:
        return None
    first = rows[0]
    make = AchievementRow._make
    return PersonRows(
        id=first[0],
        given_name=first[1],
        family_name=first[2],
        birth_date=first[3],
        # A person with nothing to give out comes back as one row whose achievement columns are NULL.
        achievements=[make(row[_PERSON_COLUMNS:]) for row in rows if row[_PERSON_COLUMNS] is not None],
    )


def as_decimal(value: float | None) -> Decimal | None:
    """A numeric column read as float8, as the Decimal it was stored as (the shortest repr round-trips)."""
    return Decimal(repr(value)) if value is not None else None


def _json(value: str | None) -> Any:
    return orjson.loads(value) if value is not None else None


def _achievement(r: AchievementRow) -> AchievementView:
    return AchievementView(
        id=uuid.UUID(r.id),
        sector=r.sector,
        kind=r.kind,
        specification=SpecificationView(
            id=r.specification_id,
            kind=r.spec_kind,
            code=r.code,
            code_scheme=r.code_scheme,
            title=orjson.loads(r.title_json),
            description=_json(r.description_json),
            credits=as_decimal(r.spec_credits),
            credit_scheme=r.spec_credit_scheme,
            nkr_level=r.nkr_level,
            eqf_level=r.eqf_level,
            nus_code=r.nus_code,
            iscedf_code=r.iscedf_code,
            learning_outcomes=_json(r.learning_outcomes_json),
        ),
        awarding_organisation=OrganisationRef(
            orgnr=r.orgnr,
            name=r.org_name,
            name_en=r.org_name_en,
            kind=r.org_kind,
            country=r.org_country,
            id=r.awarding_org_id,
        ),
        # The ingest writes a grade scheme only with a value (the casts say so to the type checker).
        grade=GradeView(
            r.grade_scheme,
            cast(str, r.grade_value),
            r.grade_passed,
            cast(str, r.grade_as_delivered or r.grade_value),
        )
        if r.grade_scheme
        else None,
        credits=as_decimal(r.credits),
        credit_scheme=r.credit_scheme,
        completed_on=r.completed_on,
        year=r.year,
        term=r.term,
        version=r.version,
        part_of_id=uuid.UUID(r.part_of_id) if r.part_of_id else None,
        assessment=assessment_view(r.assessment_code),
        programme=r.programme,
    )


def assessment_view(code: str | None) -> AssessmentView | None:
    """The assessment of a school result from its delivered ``vurderingstype`` (None for other results)."""
    assessment = ASSESSMENTS.get(code) if code else None
    if assessment is None:
        return None
    return AssessmentView(assessment.code, assessment.type, assessment.form, assessment.title)


def _nest(nodes: Iterable[AchievementView]) -> list[AchievementView]:
    items = list(nodes)
    by_id = {node.id: node for node in items}
    roots = []
    for node in items:
        parent = by_id.get(node.part_of_id) if node.part_of_id else None
        if parent is None:
            roots.append(node)
        else:
            parent.parts.append(node)
    return roots


# --- batches --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RejectionView:
    seq: int
    record: str
    path: str | None
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class BatchView:
    id: uuid.UUID
    provider_orgnr: str | None
    sector: str
    format: str | None
    filename: str | None
    content_type: str | None
    sha256: str
    size_bytes: int
    status: str
    submitted_by: str | None
    duplicate_of: uuid.UUID | None
    accepted: int
    unchanged: int
    rejected: int
    warnings: list[dict[str, Any]]
    details: dict[str, Any]
    failure: str | None
    received_at: dt.datetime
    finished_at: dt.datetime | None
    records_done: int


_BATCH_COLUMNS = """b.id, o.orgnr AS provider_orgnr, b.sector, b.format, b.filename, b.content_type, b.sha256,
                    b.size_bytes, b.status, b.submitted_by, b.duplicate_of, b.accepted, b.unchanged,
                    b.rejected, b.warnings, b.details, b.failure, b.received_at, b.finished_at,
                    b.records_done"""


def batch_view(conn: Connection, batch_id: uuid.UUID) -> BatchView | None:
    row = conn.execute(
        text(
            f"""SELECT {_BATCH_COLUMNS} FROM import_batch b JOIN organisation o ON o.id = b.provider_id
                WHERE b.id = :id"""
        ),
        {"id": batch_id},
    ).one_or_none()
    return BatchView(**row._mapping) if row is not None else None


def list_batches(
    conn: Connection,
    provider_orgnr: str | None,
    *,
    before: tuple[dt.datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> list[BatchView]:
    """Batches newest first (of one provider, or all when ``provider_orgnr`` is None).

    Keyset pagination on (received_at, id): ``before`` is the last item of the previous page.
    """
    clauses = ["TRUE"]
    params: dict[str, Any] = {"n": limit}
    if provider_orgnr is not None:
        clauses.append("o.orgnr = :orgnr")
        params["orgnr"] = provider_orgnr
    if before is not None:
        clauses.append("(b.received_at, b.id) < (:at, :id)")
        params["at"], params["id"] = before
    rows = conn.execute(
        text(
            f"""SELECT {_BATCH_COLUMNS} FROM import_batch b JOIN organisation o ON o.id = b.provider_id
                WHERE {" AND ".join(clauses)} ORDER BY b.received_at DESC, b.id DESC LIMIT :n"""
        ),
        params,
    )
    return [BatchView(**row._mapping) for row in rows]


def batch_rejections(
    conn: Connection, batch_id: uuid.UUID, *, after_seq: int = 0, limit: int = 100
) -> list[RejectionView]:
    rows = conn.execute(
        text(
            """SELECT seq, record, path, code, message FROM import_rejection
               WHERE batch_id = :b AND seq > :after ORDER BY seq LIMIT :n"""
        ),
        {"b": batch_id, "after": after_seq, "n": limit},
    )
    return [RejectionView(**row._mapping) for row in rows]


def register_contents(engine: Engine) -> str | None:
    """What the register holds, in words ("3 organisations, 13 batches"), or None when it is empty."""
    with engine.connect() as conn:
        organisations, batches = conn.execute(
            text("SELECT (SELECT count(*) FROM organisation), (SELECT count(*) FROM import_batch)")
        ).one()
    if not organisations and not batches:
        return None
    return f"{organisations} organisation{'s' * (organisations != 1)}, {batches} batch{'es' * (batches != 1)}"


@dataclass(frozen=True, slots=True)
class RecordOutcomeView:
    part: int  # 0 a record that passed every check (by its place in the delivery), 1 a rejection
    seq: int
    record: str | None
    source_key: str | None
    achievement_id: uuid.UUID | None
    outcome: str  # new, changed, unchanged, rejected
    code: str | None


def batch_records(
    conn: Connection, batch_id: uuid.UUID, *, after: tuple[int, int] = (0, 0), limit: int = 100
) -> list[RecordOutcomeView]:
    """Each record of a batch and what became of it: the records that passed every check
    (``import_record``) in delivery order, then the rejected ones (``import_rejection``) in theirs.

    Keyset pagination on (part, seq): ``after`` is the last item of the previous page. Both tables are
    read by their primary key (batch, seq), so a page costs the same at the millionth record.
    """
    rows = conn.execute(
        text(
            """SELECT * FROM (
                   (SELECT 0 AS part, seq, ref AS record, source_key, achievement_id, outcome, NULL AS code
                    FROM import_record WHERE batch_id = :b AND :part = 0 AND seq > :seq ORDER BY seq LIMIT :n)
                   UNION ALL
                   (SELECT 1, seq, record, NULL, NULL, 'rejected', code
                    FROM import_rejection WHERE batch_id = :b AND seq > CASE WHEN :part = 1 THEN :seq ELSE 0 END
                    ORDER BY seq LIMIT :n)
               ) r ORDER BY part, seq LIMIT :n"""
        ),
        {"b": batch_id, "part": after[0], "seq": after[1], "n": limit},
    )
    return [RecordOutcomeView(**row._mapping) for row in rows]
