"""The audit trail cannot be quietly edited: the application role may only append, and
``register audit verify`` finds a changed, removed or inserted row."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator

import pytest
from psycopg.errors import InsufficientPrivilege
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from cli.main import app
from intake.batches import run_import
from register import audit
from register.database import get_engine, make_engine
from tests.factories import create_organisation, new_nin
from tests.reliability.deliveries import vitnemal_csv

APP_ROLE = "register_app"


@pytest.fixture
def app_engine(db: Engine, database_url: str) -> Iterator[Engine]:
    """An engine whose every connection runs as the application role (as production's login role does)."""
    engine = make_engine(database_url, pool_size=2)

    @event.listens_for(engine, "connect")
    def _as_app_role(dbapi_connection, _record) -> None:
        with dbapi_connection.cursor() as cur:
            cur.execute(f"SET ROLE {APP_ROLE}")
        dbapi_connection.commit()

    yield engine
    engine.dispose()


@pytest.fixture
def cli(db: Engine) -> Iterator[CliRunner]:
    get_engine.cache_clear()
    yield CliRunner()
    get_engine().dispose()
    get_engine.cache_clear()


#: one person, so the events follow each other in one chain (register.audit.chain_of)
PERSON = uuid.uuid4()


def _events(engine: Engine, n: int) -> list[int]:
    ids = []
    with engine.begin() as conn:
        for i in range(n):
            ids.append(
                audit.record_read(
                    conn,
                    person_id=PERSON,
                    action="persons.lookup",
                    client_id="client-test",
                    organisation="974760673",
                    scope="kompetanse:read",
                    request_id=f"req-{i}",
                    details={"count": i},
                )
            )
    return ids


def _verify(cli: CliRunner) -> tuple[int, dict]:
    result = cli.invoke(app, ["audit", "verify", "--json"])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_application_role_can_import_read_and_append_audit(app_engine: Engine, db: Engine) -> None:
    """The grants are enough for the whole write and read path, not only for the audit table."""
    fagskole = create_organisation(db, kind="fagskole")
    report = run_import(
        app_engine,
        io.BytesIO(vitnemal_csv(fagskole, new_nin(), courses=3)),
        sector="vocational",
        provider_orgnr=fagskole,
        filename="r.csv",
    )
    assert report.status == "completed", report.as_dict()
    assert report.accepted == 4  # three courses and their vitnemål
    ids = _events(app_engine, 2)
    with app_engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == APP_ROLE
        assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == len(ids)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'nothing.happened'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "UPDATE alembic_version SET version_num = '0001'",
    ],
)
def test_application_role_cannot_change_or_delete_audit_rows(
    app_engine: Engine, db: Engine, statement: str
) -> None:
    _events(app_engine, 3)
    with pytest.raises(ProgrammingError) as caught, app_engine.begin() as conn:
        conn.execute(text(statement))
    assert isinstance(caught.value.orig, InsufficientPrivilege)
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 3
        assert audit.verify_chain(conn).ok


def test_verify_accepts_an_intact_chain(cli: CliRunner, db: Engine) -> None:
    _events(db, 5)
    code, out = _verify(cli)
    assert (code, out["ok"], out["checked"]) == (0, True, 5)


def test_verify_finds_a_changed_row(cli: CliRunner, db: Engine) -> None:
    ids = _events(db, 5)
    with db.begin() as conn:  # the owner can still write; the chain shows it
        conn.execute(text("UPDATE audit_event SET organisation = '999999999' WHERE id = :i"), {"i": ids[2]})
    code, out = _verify(cli)
    assert (code, out["ok"], out["broken_at"]) == (1, False, ids[2])
    assert "content" in out["reason"]


def test_verify_finds_a_changed_row_with_its_hash_recomputed(cli: CliRunner, db: Engine) -> None:
    """Rewriting a row and its own hash is not enough: the next row still names the old hash."""
    ids = _events(db, 4)
    with db.begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_event WHERE id = :i"), {"i": ids[1]}).one()
        content = {**row._mapping, "client_id": "someone-else"}
        forged = audit.event_hash(row.prev_hash, content)
        conn.execute(
            text("UPDATE audit_event SET client_id = 'someone-else', hash = :h WHERE id = :i"),
            {"h": forged, "i": ids[1]},
        )
    code, out = _verify(cli)
    assert (code, out["broken_at"]) == (1, ids[2])
    assert "prev_hash" in out["reason"]


def test_verify_finds_a_removed_row(cli: CliRunner, db: Engine) -> None:
    ids = _events(db, 5)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": ids[1]})
    code, out = _verify(cli)
    assert (code, out["broken_at"]) == (1, ids[2])


def test_verify_finds_an_inserted_row(cli: CliRunner, db: Engine) -> None:
    """A row slipped in between two others, even with a hash that fits its predecessor."""
    first = _events(db, 1)[0]
    with db.begin() as conn:
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), :v)"), {"v": first + 10}
        )
    later = _events(db, 2)
    with db.begin() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_event WHERE id = :i"), {"i": first}).scalar_one()
        row = conn.execute(text("SELECT * FROM audit_event WHERE id = :i"), {"i": later[0]}).one()
        content = {**row._mapping, "action": "persons.lookup", "request_id": "forged"}
        conn.execute(
            text(
                """INSERT INTO audit_event (id, chain, occurred_at, request_id, client_id, organisation, scope,
                                            person_id, action, details, prev_hash, hash)
                   VALUES (:id, :chain, :occurred_at, 'forged', :client_id, :organisation, :scope, :person_id,
                           :action, CAST(:details AS jsonb), :prev, :hash)"""
            ),
            {
                **content,
                "id": first + 5,
                "details": json.dumps(content["details"]),
                "prev": prev,
                "hash": audit.event_hash(prev, content),
            },
        )
    code, out = _verify(cli)
    assert (code, out["broken_at"]) == (1, later[0])
    assert out["checked"] == 2  # the first row and the inserted one fit; the next does not


def test_verify_prints_a_clear_line(cli: CliRunner, db: Engine) -> None:
    ids = _events(db, 3)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :i"), {"i": ids[0]})
    result = cli.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit chain broken at event {ids[1]}" in result.stderr
