"""Signed checkpoints of the audit trail: every chain's head at a moment, kept outside the database.

The hash chains (register.audit) show a row changed in the middle of a chain, but not what the owner of
the database can do: rewrite a row and recompute every hash after it, delete the newest rows, or delete
a whole chain — what is left is again a valid chain. A checkpoint records, for all CHAINS chains, how
many rows the chain had, the id of its newest row and that row's hash; it carries a sequence number,
the time and the sha256 of the previous checkpoint's file, and is signed with the register's audit key.
The files go to a directory outside the database (``REGISTER_AUDIT_CHECKPOINT_DIR``), one per
checkpoint, never overwritten; production ships them where the database's owner cannot write
(docs/operations.md).

A head's hash covers every row of its chain up to it, so when the chain's links hold and the row with the
recorded id still has the recorded hash, nothing the checkpoint covers was changed, removed, inserted or
reordered. Rows appended after it are checked by their links, as before.

Format: a compact JWS (RFC 7515) signed with Ed25519 (``alg`` EdDSA, RFC 8037), whose payload is the
canonical JSON of the checkpoint; ``kid`` is the key's RFC 7638 thumbprint. Any JOSE library, or
``openssl pkeyutl -verify -rawin``, checks it with the public key (``register audit public-key``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, text

from register import datadir
from register.audit import GENESIS, ChainHead, all_heads, canonical_json
from register.errors import RegisterError
from register.keyfiles import write_new_key
from register.locks import LockKey
from register.settings import Settings

CHECKPOINT_TYPE = "kompetanseregisteret/audit-checkpoint"
VERSION = 1
ALGORITHM = "EdDSA"
_NAME = re.compile(r"audit-checkpoint-(\d{8})\.jws")
_HEADER_KEYS = {"alg", "kid", "typ", "cty"}


class CheckpointError(RegisterError):
    """A checkpoint cannot be written or read (key, directory, file); the code says which."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    created_at: str
    previous: str | None  # sha256 (hex) of the previous checkpoint's file; None for the first
    heads: tuple[ChainHead, ...]
    digest: str  # sha256 (hex) of this checkpoint's file, what the next one names as ``previous``
    name: str

    def payload(self) -> dict[str, Any]:
        return _payload(self.seq, self.created_at, self.previous, self.heads)


def _payload(seq: int, created_at: str, previous: str | None, heads: Sequence[ChainHead]) -> dict[str, Any]:
    return {
        "type": CHECKPOINT_TYPE,
        "version": VERSION,
        "seq": seq,
        "created_at": created_at,
        "previous": previous,
        "chains": [h.as_json() for h in heads],
    }


# --- the key ----------------------------------------------------------------------------------------


def signing_key_path(settings: Settings) -> Path:
    return settings.audit_signing_key_path or settings.data_dir / "audit-checkpoint-key.pem"


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The audit key; in development it is created (mode 0600) on first use, in production it must exist."""
    path = signing_key_path(settings)
    if path.exists():
        return _private_key(path.read_bytes(), path)
    if settings.environment != "development":
        raise CheckpointError(
            "audit.checkpoint_key",
            f"the audit signing key {path} does not exist (REGISTER_AUDIT_SIGNING_KEY_PATH)",
        )
    if settings.audit_signing_key_path is None:
        datadir.require(settings, database=False)  # a key in a stray ./.register would verify nothing
    key = Ed25519PrivateKey.generate()
    return key if write_new_key(path, key) else load_signing_key(settings)


def _private_key(pem: bytes, path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(
            "audit.checkpoint_key", f"{path} does not hold an unencrypted Ed25519 private key"
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key (what ``register audit public-key`` prints), or the public half of a private key."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise CheckpointError("audit.checkpoint_key", f"cannot read {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" in pem:
        return _private_key(pem, path).public_key()
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError("audit.checkpoint_key", f"{path} does not hold an Ed25519 public key")
    return key


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw)}


def key_id(key: Ed25519PublicKey) -> str:
    """The RFC 7638 thumbprint: sha256 of the JWK's required members in canonical JSON."""
    return _b64(hashlib.sha256(canonical_json(public_jwk(key)).encode()).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", part):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


# --- taking and writing -----------------------------------------------------------------------------


def take_heads(conn: Connection, after: Checkpoint | None = None) -> tuple[ChainHead, ...]:
    """Every chain's length, newest row and hash, as one snapshot.

    One statement sees one snapshot, and that snapshot holds a prefix of every chain: a chain's rows get
    their ids and commit under the chain's lock (register.audit), so no writer can commit row n+1 of a
    chain before row n is visible. No lock is needed, and writers never wait for a checkpoint.

    ``after``: a checkpoint whose heads the database still holds; only the rows after its heads are
    counted (through the (chain, id) index). On 2 M rows (two shared cores) counting every row took
    0.7–2.3 s, counting the 1 000 rows after the previous checkpoint 5–11 ms; the tens of millions of
    rows a year of national look-ups would make the full count a minute per checkpoint.
    """
    if after is None:
        rows = conn.execute(text(_HEADS.format(counted=_COUNT_ALL)))
    else:
        rows = conn.execute(
            text(_HEADS.format(counted=_COUNT_AFTER)),
            {
                "chains": [h.chain for h in after.heads],
                "lengths": [h.length for h in after.heads],
                "after": [h.last_id or 0 for h in after.heads],
            },
        )
    return all_heads({r.chain: ChainHead(r.chain, r.length, r.last_id, r.hash) for r in rows})


_HEADS = """SELECT h.chain, h.length, h.last_id, a.hash FROM ({counted}) h JOIN audit_event a ON a.id = h.last_id"""
_COUNT_ALL = "SELECT chain, count(*) AS length, max(id) AS last_id FROM audit_event GROUP BY chain"
# LATERAL: one range scan of the (chain, id) index per chain; a plain join of the 64 heads was planned as
# a scan of the whole table (1.1–1.5 s for 1 000 new rows on 2 M).
_COUNT_AFTER = """
    SELECT p.chain, p.length + n.added AS length, coalesce(n.last_id, nullif(p.after, 0)) AS last_id
    FROM unnest(CAST(:chains AS int[]), CAST(:lengths AS bigint[]), CAST(:after AS bigint[]))
         AS p(chain, length, after)
    CROSS JOIN LATERAL (SELECT count(*) AS added, max(a.id) AS last_id FROM audit_event a
                        WHERE a.chain = p.chain AND a.id > p.after) n"""


def checkpoint_files(directory: Path) -> list[tuple[int, Path]]:
    """The checkpoint files of a directory by sequence number (other files are left alone)."""
    try:
        names = os.listdir(directory)
    except OSError as exc:
        raise CheckpointError(
            "audit.checkpoint_dir", f"cannot read the checkpoint directory {directory}: {exc.strerror}"
        ) from None
    found = [(int(m.group(1)), directory / name) for name in names if (m := _NAME.fullmatch(name))]
    return sorted(found)


def write_checkpoint(
    conn: Connection,
    settings: Settings,
    *,
    wait: bool = True,
    min_age_seconds: float = 0.0,
    now: dt.datetime | None = None,
) -> Checkpoint | None:
    """Take a checkpoint and write it as the next file of ``REGISTER_AUDIT_CHECKPOINT_DIR``.

    Run in the caller's transaction, which holds the writers' lock until it ends. ``wait=False`` returns
    None at once when another process is writing one; ``min_age_seconds`` returns None when the newest
    checkpoint is younger than that (every server worker has a timer; one checkpoint per interval is
    enough). Refuses (``audit.checkpoint_refused``) to follow a checkpoint whose heads the database no
    longer holds: signing the rewritten chains would vouch for them.
    """
    directory = settings.audit_checkpoint_dir
    if directory is None:
        raise CheckpointError("audit.checkpoint_dir", "REGISTER_AUDIT_CHECKPOINT_DIR is not set")
    key = load_signing_key(settings)
    lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    if conn.execute(text(f"SELECT {lock}(:k)"), {"k": LockKey.AUDIT_CHECKPOINT}).scalar() is False:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    files = checkpoint_files(directory)
    previous = None
    if files:
        seq, path = files[-1]
        now_ts = (now or dt.datetime.now(dt.UTC)).timestamp()
        if min_age_seconds and now_ts - path.stat().st_mtime < min_age_seconds:
            return None
        previous = read_checkpoint(path, key.public_key())
        if previous.seq != seq:
            raise CheckpointError(
                "audit.checkpoint_invalid", f"{path.name} says it is checkpoint {previous.seq}"
            )
        problems = database_problems(conn, previous)
        if problems:
            raise CheckpointError(
                "audit.checkpoint_refused",
                f"the audit trail no longer holds what checkpoint {previous.seq} recorded: {problems[0]}",
            )
    heads = take_heads(conn, previous)
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="microseconds")
    seq = previous.seq + 1 if previous else 1
    payload = _payload(seq, created, previous.digest if previous else None, heads)
    document = sign(payload, key)
    name = f"audit-checkpoint-{seq:08d}.jws"
    _write_new(directory / name, document)
    return Checkpoint(seq, created, payload["previous"], heads, hashlib.sha256(document).hexdigest(), name)


def sign(payload: Mapping[str, Any], key: Ed25519PrivateKey) -> bytes:
    header = {"alg": ALGORITHM, "kid": key_id(key.public_key()), "typ": "JOSE", "cty": "json"}
    signing_input = _b64(canonical_json(header).encode()) + "." + _b64(canonical_json(payload).encode())
    return (signing_input + "." + _b64(key.sign(signing_input.encode()))).encode()


def _write_new(path: Path, data: bytes) -> None:
    """Write a file that appears whole or not at all, and never replaces one that is there."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link, unlike rename, fails when the name exists: a checkpoint is never overwritten.
        os.link(temporary, path)
    except FileExistsError:
        raise CheckpointError(
            "audit.checkpoint_exists", f"{path.name} already exists; another writer took this number"
        ) from None
    finally:
        os.unlink(temporary)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the new name survives a crash, not only the bytes
    finally:
        os.close(dir_fd)


# --- reading and checking ---------------------------------------------------------------------------


def read_checkpoint(path: Path, public_key: Ed25519PublicKey) -> Checkpoint:
    """Read one checkpoint file and check its signature; ``audit.checkpoint_invalid`` says what is wrong."""
    try:
        document = path.read_bytes()
    except OSError as exc:
        raise CheckpointError("audit.checkpoint_unreadable", f"cannot read {path}: {exc.strerror}") from None
    return parse_checkpoint(document, public_key, name=path.name)


def parse_checkpoint(document: bytes, public_key: Ed25519PublicKey, *, name: str) -> Checkpoint:
    def invalid(why: str) -> CheckpointError:
        return CheckpointError("audit.checkpoint_invalid", f"{name}: {why}")

    try:
        header_part, payload_part, signature_part = document.decode("ascii").strip().split(".")
        header = json.loads(_unb64(header_part))
        signature = _unb64(signature_part)
    except ValueError:
        raise invalid("not a compact JWS") from None
    # Only the header this register writes: no crit, b64, jku or other member that changes the meaning.
    if not isinstance(header, dict) or set(header) - _HEADER_KEYS or header.get("alg") != ALGORITHM:
        raise invalid(f"the JWS header is not an {ALGORITHM} checkpoint header")
    if header.get("kid") != key_id(public_key):
        raise invalid("signed with another key (kid) than the register's audit key")
    try:
        public_key.verify(signature, f"{header_part}.{payload_part}".encode())
    except InvalidSignature:
        raise invalid("the signature does not verify with the register's audit key") from None
    try:
        payload = json.loads(_unb64(payload_part))
        if payload["type"] != CHECKPOINT_TYPE or payload["version"] != VERSION:
            raise invalid(f"not a version {VERSION} audit checkpoint")
        heads = tuple(
            ChainHead(int(c["chain"]), int(c["length"]), c["last_id"], str(c["head"]))
            for c in payload["chains"]
        )
        checkpoint = Checkpoint(
            int(payload["seq"]),
            str(payload["created_at"]),
            payload["previous"],
            heads,
            hashlib.sha256(document).hexdigest(),
            name,
        )
    except (ValueError, KeyError, TypeError):
        raise invalid("the payload is not an audit checkpoint") from None
    return checkpoint


def read_sequence(directory: Path, public_key: Ed25519PublicKey) -> Iterator[Checkpoint | str]:
    """Every checkpoint of a directory in order, each followed by what is wrong with its place in the
    sequence (a string): a number missing, a previous hash that is not the previous file's, a chain that
    got shorter. Streams: holds one checkpoint besides the current, however many there are."""
    files = checkpoint_files(directory)
    if not files:
        raise CheckpointError("audit.checkpoint_unreadable", f"no checkpoint files in {directory}")
    expected, previous, previous_digest = 1, None, None
    for seq, path in files:
        if seq != expected:
            missing = f"{expected}" if seq == expected + 1 else f"{expected}–{seq - 1}"
            yield f"checkpoint {missing} is missing (the sequence goes on with {seq})"
        try:
            checkpoint = read_checkpoint(path, public_key)
        except CheckpointError as exc:
            if exc.code != "audit.checkpoint_invalid":
                raise
            yield exc.message
            expected, previous_digest = seq + 1, hashlib.sha256(path.read_bytes()).hexdigest()
            continue
        if checkpoint.seq != seq:
            yield f"{path.name} says it is checkpoint {checkpoint.seq}"
        elif seq == expected and checkpoint.previous != previous_digest:
            yield f"checkpoint {seq} does not name the file of checkpoint {seq - 1} as its previous"
        if previous is not None:
            before = {h.chain: h.length for h in previous.heads}
            for head in checkpoint.heads:
                if head.length < before.get(head.chain, 0):
                    yield (
                        f"chain {head.chain} got shorter from checkpoint {previous.seq} ({before[head.chain]} "
                        f"events) to {seq} ({head.length})"
                    )
        yield checkpoint
        expected, previous, previous_digest = seq + 1, checkpoint, checkpoint.digest


def database_problems(
    conn: Connection, checkpoint: Checkpoint, lengths: Mapping[int, int] | None = None
) -> list[str]:
    """What the database holds that contradicts a checkpoint: a recorded head row missing, moved to
    another chain or with another hash, or (given the chains' ``lengths`` from a walk) a chain shorter
    than the checkpoint says. With the chains' links intact, none of these means nothing it covers changed."""
    ids = [h.last_id for h in checkpoint.heads if h.last_id is not None]
    found = {
        r.id: r
        for r in conn.execute(
            text("SELECT id, chain, hash FROM audit_event WHERE id = ANY(:ids)"), {"ids": ids}
        )
    }
    problems = []
    for head in checkpoint.heads:
        where = f"chain {head.chain}: checkpoint {checkpoint.seq} covers {head.length} events"
        if lengths is not None and lengths.get(head.chain, 0) < head.length:
            problems.append(
                f"{where}, the database holds {lengths.get(head.chain, 0)}: events it covers were deleted"
            )
            continue
        if head.last_id is None:
            if head.head != GENESIS:
                problems.append(f"{where} but names no newest event")
            continue
        row = found.get(head.last_id)
        if row is None:
            problems.append(
                f"{where}, up to event {head.last_id}, which is missing: events it covers were deleted"
            )
        elif row.chain != head.chain:
            problems.append(f"{where}, up to event {head.last_id}, which is now in chain {row.chain}")
        elif row.hash != head.head:
            problems.append(
                f"{where}, up to event {head.last_id}, whose hash is now {row.hash[:16]}… instead of "
                f"{head.head[:16]}…: an event up to it was changed, removed, inserted or reordered"
            )
    return problems


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    checked: int  # checkpoints read
    newest: Checkpoint | None
    problems: list[str]


MAX_PROBLEMS = 50  # a wholesale rewrite contradicts every checkpoint; the first ones say enough


def check_checkpoints(
    conn: Connection,
    lengths: Mapping[int, int] | None,
    public_key: Ed25519PublicKey,
    *,
    file: Path | None = None,
    directory: Path | None = None,
) -> CheckpointCheck:
    """Check one checkpoint file, or a directory's whole sequence, against each other and the database."""
    items: Iterator[Checkpoint | str]
    if file is not None:
        items = _one(file, public_key)
    elif directory is not None:
        items = read_sequence(directory, public_key)
    else:
        raise ValueError("a checkpoint file or directory is needed")
    checked, newest, problems = 0, None, []
    for item in items:
        if isinstance(item, str):
            problems.append(item)
        else:
            checked, newest = checked + 1, item
            problems.extend(database_problems(conn, item, lengths))
        if len(problems) >= MAX_PROBLEMS:
            break
    return CheckpointCheck(checked, newest, problems[:MAX_PROBLEMS])


def _one(file: Path, public_key: Ed25519PublicKey) -> Iterator[Checkpoint | str]:
    try:
        yield read_checkpoint(file, public_key)
    except CheckpointError as exc:
        if exc.code != "audit.checkpoint_invalid":
            raise
        yield exc.message
