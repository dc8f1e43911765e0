"""Signed checkpoints catch what the owner of the database can do to the audit trail unseen by the chains
alone: rewrite a row and recompute its chain's tail, delete a chain's newest rows or a whole chain,
reorder rows. The attacks run as the owner (the session's engine), as the attacker did."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.app import create_app
from cli.main import app
from register import audit
from register import audit_checkpoints as checkpoints
from register.database import get_engine
from register.settings import Settings, get_settings

#: three people in three different chains, so a checkpoint covers several chains
PEOPLE = [uuid.UUID(int=n) for n in (1, 2, 3)]


@pytest.fixture
def checkpoint_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The CLI's settings (from the environment) with a checkpoint directory and a key of this test."""
    directory = tmp_path / "checkpoints"
    monkeypatch.setenv("REGISTER_AUDIT_CHECKPOINT_DIR", str(directory))
    monkeypatch.setenv("REGISTER_AUDIT_SIGNING_KEY_PATH", str(tmp_path / "audit-key.pem"))
    get_settings.cache_clear()
    yield directory
    get_settings.cache_clear()


@pytest.fixture
def cli(db: Engine, checkpoint_dir: Path) -> Iterator[CliRunner]:
    get_engine.cache_clear()
    yield CliRunner()
    get_engine().dispose()
    get_engine.cache_clear()


def _events(engine: Engine, per_person: int) -> None:
    with engine.begin() as conn:
        for i in range(per_person):
            for person in PEOPLE:
                audit.record_read(conn, person_id=person, action="persons.lookup", request_id=f"r{i}")


def _checkpoint(cli: CliRunner) -> dict[str, Any]:
    result = cli.invoke(app, ["audit", "checkpoint", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _verify(cli: CliRunner, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli.invoke(app, ["audit", "verify", "--json", *args])
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, json.loads(result.stdout)


def _chain_rows(engine: Engine, chain: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(text("SELECT * FROM audit_event WHERE chain = :c ORDER BY id"), {"c": chain})
        )


def _rehash(engine: Engine, chain: int) -> None:
    """What the attacker did after changing rows: recompute every link and hash of the chain."""
    prev = audit.GENESIS
    with engine.begin() as conn:
        for row in _chain_rows(engine, chain):
            digest = audit.event_hash(prev, row._mapping)
            conn.execute(
                text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": prev, "h": digest, "i": row.id},
            )
            prev = digest


CHAIN = audit.chain_of(PEOPLE[0])


def _file(checkpoint_dir: Path, seq: int) -> Path:
    return checkpoint_dir / f"audit-checkpoint-{seq:08d}.jws"


def test_rows_appended_after_a_checkpoint_verify(cli: CliRunner, db: Engine, checkpoint_dir: Path) -> None:
    _events(db, 3)
    written = _checkpoint(cli)
    assert written["seq"] == 1 and written["previous"] is None
    assert len(written["chains"]) == audit.CHAINS
    _events(db, 2)
    code, out = _verify(cli, "--checkpoint", str(_file(checkpoint_dir, 1)))
    assert (code, out["ok"], out["checkpoints"]["problems"]) == (0, True, [])
    # The heads an operator can record: every chain, its length, newest id and hash.
    heads = {h["chain"]: h for h in out["heads"]}
    assert len(heads) == audit.CHAINS
    assert heads[CHAIN]["length"] == 5 and heads[CHAIN]["head"] == _chain_rows(db, CHAIN)[-1].hash
    assert {h["chain"]: h["length"] for h in written["chains"]}[CHAIN] == 3
    # The writer counts only the rows after the previous checkpoint: the same heads as counting all.
    first = checkpoints.read_checkpoint(_file(checkpoint_dir, 1), checkpoints.load_public_key(_key_path()))
    with db.connect() as conn:
        assert checkpoints.take_heads(conn, first) == checkpoints.take_heads(conn)
    assert _checkpoint(cli)["chains"] == out["heads"]


def _key_path() -> Path:
    return checkpoints.signing_key_path(get_settings())


def test_a_row_rewritten_with_its_chain_tail_recomputed_is_found(
    cli: CliRunner, db: Engine, checkpoint_dir: Path
) -> None:
    _events(db, 4)
    _checkpoint(cli)
    target = _chain_rows(db, CHAIN)[1]
    with db.begin() as conn:
        conn.execute(
            text("UPDATE audit_event SET client_id = 'someone-else' WHERE id = :i"), {"i": target.id}
        )
    _rehash(db, CHAIN)
    with db.connect() as conn:
        assert audit.verify_chain(conn).ok  # the chains alone see nothing: the attack of issue 14
    code, out = _verify(cli, "--checkpoint", str(_file(checkpoint_dir, 1)))
    assert (code, out["ok"]) == (1, False)
    [problem] = out["checkpoints"]["problems"]
    assert problem.startswith(f"chain {CHAIN}: checkpoint 1 covers 4 events") and "changed" in problem


def test_verify_uses_the_configured_checkpoint_directory_by_default(
    cli: CliRunner, db: Engine, checkpoint_dir: Path
) -> None:
    _events(db, 2)
    _checkpoint(cli)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE chain = :c"), {"c": CHAIN})
    result = cli.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"chain {CHAIN}: checkpoint 1 covers 2 events, the database holds 0" in result.stderr


def test_a_whole_chain_deleted_is_found(
    cli: CliRunner, db: Engine, checkpoint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _events(db, 3)
    _checkpoint(cli)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE chain = :c"), {"c": CHAIN})
    monkeypatch.delenv("REGISTER_AUDIT_CHECKPOINT_DIR")  # the chains alone: exit 0, only `checked` falls
    get_settings.cache_clear()
    alone = _verify(cli)
    assert (alone[0], alone[1]["checked"], alone[1]["checkpoints"]) == (0, 6, None)
    code, out = _verify(cli, "--checkpoint", str(_file(checkpoint_dir, 1)))
    assert code == 1
    assert out["checkpoints"]["problems"] == [
        f"chain {CHAIN}: checkpoint 1 covers 3 events, the database holds 0: events it covers were deleted"
    ]


def test_a_truncated_chain_is_found_even_after_new_rows(
    cli: CliRunner, db: Engine, checkpoint_dir: Path
) -> None:
    _events(db, 4)
    _checkpoint(cli)
    newest = _chain_rows(db, CHAIN)[-2:]
    with db.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = ANY(:ids)"), {"ids": [r.id for r in newest]})
    _events(db, 3)  # the chain grows past its old length again, on the shortened prefix
    code, out = _verify(cli, "--checkpoint", str(_file(checkpoint_dir, 1)))
    assert code == 1
    [problem] = out["checkpoints"]["problems"]
    assert f"up to event {newest[-1].id}, which is missing" in problem


def test_reordered_rows_are_found(cli: CliRunner, db: Engine, checkpoint_dir: Path) -> None:
    _events(db, 3)
    _checkpoint(cli)
    first, second, _ = _chain_rows(db, CHAIN)
    with db.begin() as conn:  # swap the two rows' places in the chain (ids), then re-link everything
        conn.execute(text("UPDATE audit_event SET id = -1 WHERE id = :i"), {"i": first.id})
        conn.execute(text("UPDATE audit_event SET id = :a WHERE id = :b"), {"a": first.id, "b": second.id})
        conn.execute(text("UPDATE audit_event SET id = :b WHERE id = -1"), {"b": second.id})
    _rehash(db, CHAIN)
    code, out = _verify(cli, "--checkpoint", str(_file(checkpoint_dir, 1)))
    assert code == 1
    assert "changed, removed, inserted or reordered" in out["checkpoints"]["problems"][0]


def _resign(path: Path, payload: dict[str, Any], key: Ed25519PrivateKey) -> None:
    if path.exists():
        path.chmod(0o644)  # written read-only
    path.write_bytes(checkpoints.sign(payload, key))


def test_a_forged_or_edited_checkpoint_is_refused(cli: CliRunner, db: Engine, checkpoint_dir: Path) -> None:
    _events(db, 2)
    written = _checkpoint(cli)
    path = _file(checkpoint_dir, 1)
    # Signed by another key (an attacker who rewrote the rows and made a checkpoint to match).
    forged = {k: written[k] for k in ("type", "version", "seq", "created_at", "previous", "chains")}
    _resign(path, forged, Ed25519PrivateKey.generate())
    code, out = _verify(cli, "--checkpoint", str(path))
    assert code == 1 and "another key" in out["checkpoints"]["problems"][0]
    # The register's header and signature kept, the payload edited.
    good = checkpoints.sign(forged, checkpoints.load_signing_key(get_settings())).decode().split(".")
    edited = json.loads(checkpoints._unb64(good[1]))
    edited["chains"][CHAIN]["length"] = 1
    tampered = checkpoints._b64(audit.canonical_json(edited).encode())
    path.write_text(f"{good[0]}.{tampered}.{good[2]}")
    code, out = _verify(cli, "--checkpoint", str(path))
    assert code == 1 and "signature does not verify" in out["checkpoints"]["problems"][0]


def test_a_missing_or_unchained_checkpoint_in_the_sequence_is_found(
    cli: CliRunner, db: Engine, checkpoint_dir: Path
) -> None:
    for _ in range(4):
        _events(db, 1)
        _checkpoint(cli)
    assert _verify(cli, "--checkpoint-dir", str(checkpoint_dir))[0] == 0
    second = _file(checkpoint_dir, 2)
    kept = second.read_bytes()
    second.unlink()
    code, out = _verify(cli, "--checkpoint-dir", str(checkpoint_dir))
    assert code == 1
    assert out["checkpoints"]["problems"] == ["checkpoint 2 is missing (the sequence goes on with 3)"]
    # Put back with another content, signed by the register's own key: the chaining shows it.
    payload = json.loads(checkpoints._unb64(kept.decode().split(".")[1]))
    payload["created_at"] = "2026-01-01T00:00:00.000000+00:00"
    _resign(second, payload, checkpoints.load_signing_key(get_settings()))
    code, out = _verify(cli, "--checkpoint-dir", str(checkpoint_dir))
    assert out["checkpoints"]["problems"] == [
        "checkpoint 3 does not name the file of checkpoint 2 as its previous"
    ]


def test_an_older_checkpoint_catches_a_rewrite_that_a_newer_one_signed(
    cli: CliRunner, db: Engine, checkpoint_dir: Path, tmp_path: Path
) -> None:
    """Even if a writer signed the rewritten chains, the older checkpoints of the sequence still disagree."""
    _events(db, 3)
    _checkpoint(cli)
    with db.begin() as conn:
        conn.execute(
            text("UPDATE audit_event SET scope = 'x' WHERE id = :i"), {"i": _chain_rows(db, CHAIN)[0].id}
        )
    _rehash(db, CHAIN)
    # The register's writer refuses to vouch for the rewritten trail ...
    refused = cli.invoke(app, ["audit", "checkpoint"])
    assert refused.exit_code == 2 and "[audit.checkpoint_refused]" in refused.stderr
    assert f"chain {CHAIN}: checkpoint 1 covers 3 events" in refused.stderr
    # ... and a checkpoint 2 forced past it (the writer bypassed) does not hide the rewrite.
    settings = get_settings()
    key = checkpoints.load_signing_key(settings)
    with db.connect() as conn:
        heads = checkpoints.take_heads(conn)
    first = checkpoints.read_checkpoint(_file(checkpoint_dir, 1), key.public_key())
    payload = checkpoints._payload(2, "2030-01-01T00:00:00.000000+00:00", first.digest, heads)
    _file(checkpoint_dir, 2).write_bytes(checkpoints.sign(payload, key))
    assert _verify(cli, "--checkpoint", str(_file(checkpoint_dir, 2)))[0] == 0
    code, out = _verify(cli, "--checkpoint-dir", str(checkpoint_dir))
    assert code == 1
    assert [p.split(",")[0] for p in out["checkpoints"]["problems"]] == [
        f"chain {CHAIN}: checkpoint 1 covers 3 events"
    ]


def test_a_checkpoint_is_a_standard_jws_and_is_never_overwritten(
    cli: CliRunner, db: Engine, checkpoint_dir: Path
) -> None:
    _events(db, 1)
    written = _checkpoint(cli)
    document = _file(checkpoint_dir, 1).read_text()
    # An independent JOSE implementation checks it with the published JWK.
    published = cli.invoke(app, ["audit", "public-key", "--jwk"])
    jwk = json.loads(published.stdout)["keys"][0]
    public = jwt.PyJWK(jwk).key
    verified = jwt.api_jws.PyJWS(algorithms=["EdDSA"]).decode_complete(document, public, algorithms=["EdDSA"])
    assert verified["header"]["kid"] == jwk["kid"]
    assert json.loads(verified["payload"])["chains"] == written["chains"]
    pem = cli.invoke(app, ["audit", "public-key"]).stdout.encode()
    assert serialization.load_pem_public_key(pem) == public
    with pytest.raises(checkpoints.CheckpointError) as caught:
        checkpoints._write_new(_file(checkpoint_dir, 1), b"other")
    assert caught.value.code == "audit.checkpoint_exists"
    assert _file(checkpoint_dir, 1).read_text() == document


def test_checkpoints_taken_while_writers_append_all_verify(
    cli: CliRunner, db: Engine, checkpoint_dir: Path
) -> None:
    """One statement's snapshot holds a prefix of every chain: no checkpoint names a row that a later
    row of its chain could precede (register.audit_checkpoints.take_heads)."""
    stop = threading.Event()

    def append() -> None:
        while not stop.is_set():
            _events(db, 1)

    writers = [threading.Thread(target=append) for _ in range(3)]
    for writer in writers:
        writer.start()
    try:
        for _ in range(5):
            _checkpoint(cli)
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    code, out = _verify(cli, "--checkpoint-dir", str(checkpoint_dir))
    assert (code, out["checkpoints"]["checked"], out["checkpoints"]["problems"]) == (0, 5, [])


def test_the_server_writes_checkpoints_on_its_timer(db: Engine, database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        audit_checkpoint_dir=tmp_path / "served-checkpoints",  # created by the writer
        audit_checkpoint_interval_seconds=0.2,
    )
    directory = tmp_path / "served-checkpoints"
    _events(db, 2)
    with TestClient(create_app(settings, engine=db)):
        for _ in range(300):  # bounded polling: at most ~30 s on a busy machine
            if directory.is_dir() and len(checkpoints.checkpoint_files(directory)) >= 2:
                break
            time.sleep(0.1)
    public = checkpoints.load_signing_key(settings).public_key()
    with db.connect() as conn:
        lengths = {h.chain: h.length for h in checkpoints.take_heads(conn)}
        check = checkpoints.check_checkpoints(conn, lengths, public, directory=directory)
    assert check.checked >= 2 and check.problems == []
    assert check.newest is not None and sum(h.length for h in check.newest.heads) == 6


def test_production_needs_an_audit_key_and_never_makes_one(tmp_path: Path) -> None:
    production: dict[str, Any] = {
        "environment": "production",
        "allow_synthetic_ids": False,  # the test session turns them on through the environment
        "database_url": "postgresql://register@db/register",
        "jwt_issuers": ["https://maskinporten.example/"],
        "jwks_files": [tmp_path / "jwks.json"],
        "audit_checkpoint_dir": tmp_path / "checkpoints",
    }
    with pytest.raises(ValueError, match="REGISTER_AUDIT_SIGNING_KEY_PATH"):
        Settings(**production)
    settings = Settings(**production, audit_signing_key_path=tmp_path / "absent.pem")
    with pytest.raises(checkpoints.CheckpointError) as caught:
        checkpoints.load_signing_key(settings)
    assert caught.value.code == "audit.checkpoint_key"
    assert not (tmp_path / "absent.pem").exists()
