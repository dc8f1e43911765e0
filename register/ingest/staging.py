"""Staging: the checked records of a batch, streamed with COPY into temporary tables.

A staging row is declared once, as a named tuple whose fields carry their SQL type: the order of the
COPY columns, the CREATE TEMP TABLE and the row a record becomes all derive from it, so a column is
added in one place (it was kept in step by hand in three).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, NamedTuple, get_type_hints

from psycopg import Cursor
from sqlalchemy import Connection, text


class StageRow(NamedTuple):
    """One record to write (temporary table ``stage``); each field's metadata is its column's SQL."""

    seq: Annotated[int, "int PRIMARY KEY"]
    new_id: Annotated[uuid.UUID, "uuid NOT NULL"]  # the id the record gets if it is new
    ref: Annotated[str, "text"]
    source_key: Annotated[str, "text NOT NULL"]
    parent_key: Annotated[str | None, "text"]
    learner: Annotated[str, "text NOT NULL"]  # register.identity.learner_key
    # the primary identifier (the anchor); the others go to stage_identifier
    pid_kind: Annotated[str, "text NOT NULL"]
    pid_scheme: Annotated[str, "text NOT NULL"]
    pid_value: Annotated[str, "text NOT NULL"]
    given_name: Annotated[str | None, "text"]
    family_name: Annotated[str | None, "text"]
    birth_date: Annotated[date | None, "date"]
    awarding_org_id: Annotated[int, "int NOT NULL"]
    spec_key: Annotated[str, "text NOT NULL"]
    sector: Annotated[str, "text"]
    kind: Annotated[str, "text"]
    grade_scheme: Annotated[str | None, "text"]
    grade_value: Annotated[str | None, "text"]
    grade_passed: Annotated[bool | None, "boolean"]
    credits: Annotated[Decimal | None, "numeric"]
    credit_scheme: Annotated[str | None, "text"]
    completed_on: Annotated[date | None, "date"]
    year: Annotated[int | None, "smallint"]
    term: Annotated[str | None, "text"]
    status: Annotated[str, "text"]
    withdrawal_reason: Annotated[str | None, "text"]
    details: Annotated[str | None, "jsonb"]  # JSON text
    content_hash: Annotated[str, "text"]


class SpecRow(NamedTuple):
    """A learning specification seen first in this batch (temporary table ``stage_spec``)."""

    content_key: Annotated[str, "text"]
    kind: Annotated[str, "text"]
    code: Annotated[str | None, "text"]
    code_scheme: Annotated[str | None, "text"]
    owner_id: Annotated[int | None, "int"]
    title: Annotated[str | None, "jsonb"]
    description: Annotated[str | None, "jsonb"]
    credits: Annotated[Decimal | None, "numeric"]
    credit_scheme: Annotated[str | None, "text"]
    nkr_level: Annotated[str | None, "text"]
    eqf_level: Annotated[int | None, "smallint"]
    nus_code: Annotated[str | None, "text"]
    iscedf_code: Annotated[str | None, "text"]
    learning_outcomes: Annotated[str | None, "jsonb"]
    details: Annotated[str | None, "jsonb"]


def column_sql(row_type: type[tuple[Any, ...]]) -> dict[str, str]:
    """Each field of a staging row and its column's SQL, in the row's order."""
    hints = get_type_hints(row_type, include_extras=True)
    return {name: hints[name].__metadata__[0] for name in row_type._fields}  # type: ignore[attr-defined]


def _table_sql(table: str, row_type: type[tuple[Any, ...]]) -> str:
    columns = ", ".join(f"{name} {sql}" for name, sql in column_sql(row_type).items())
    return f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP;"


def _copy_sql(table: str, row_type: type[tuple[Any, ...]]) -> str:
    return f"COPY {table} ({', '.join(row_type._fields)}) FROM STDIN"  # type: ignore[attr-defined]


_CREATE_STAGING = f"""
    {_table_sql("stage", StageRow)}
    {_table_sql("stage_spec", SpecRow)}
    CREATE TEMP TABLE stage_unchanged (seq int, ref text, source_key text, achievement_id uuid) ON COMMIT DROP;
    CREATE TEMP TABLE stage_identifier (seq int, kind text, scheme text, value text) ON COMMIT DROP;
    CREATE TEMP TABLE stage_attachment (
        seq int, media_type text, title text, content bytea, sha256 text
    ) ON COMMIT DROP;
"""


@dataclass(slots=True)
class Staged:
    row: StageRow
    identifiers: list[tuple[str, str, str]]  # (kind, scheme, value); the first is the primary
    spec: SpecRow | None  # only the first time a spec key is seen in the batch
    attachments: list[tuple[str, str | None, bytes, str]]


def create_staging_tables(conn: Connection) -> None:
    conn.execute(text(_CREATE_STAGING))


def copy_chunk(
    cur: Cursor[Any], chunk: list[Staged], unchanged: list[tuple[int, str, str, uuid.UUID]]
) -> None:
    if unchanged:
        with cur.copy("COPY stage_unchanged (seq, ref, source_key, achievement_id) FROM STDIN") as copy:
            for row in unchanged:
                copy.write_row(row)
    if not chunk:
        return
    with cur.copy(_copy_sql("stage", StageRow)) as copy:
        for staged in chunk:
            copy.write_row(staged.row)
    if any(len(s.identifiers) > 1 for s in chunk):
        with cur.copy("COPY stage_identifier (seq, kind, scheme, value) FROM STDIN") as copy:
            for staged in chunk:
                for ident in staged.identifiers[1:]:  # the primary one is on the stage row
                    copy.write_row((staged.row.seq, *ident))
    specs = [s.spec for s in chunk if s.spec is not None]
    if specs:
        with cur.copy(_copy_sql("stage_spec", SpecRow)) as copy:
            for spec in specs:
                copy.write_row(spec)
    if any(s.attachments for s in chunk):
        with cur.copy("COPY stage_attachment (seq, media_type, title, content, sha256) FROM STDIN") as copy:
            for staged in chunk:
                for attachment in staged.attachments:
                    copy.write_row((staged.row.seq, *attachment))
