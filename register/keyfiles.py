"""Keys the register makes for itself in development (token signing, audit checkpoints, ELMO signing)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def write_new_key(path: Path, key: PrivateKeyTypes) -> bool:
    """Write ``key`` as unencrypted PKCS#8 PEM to a new file of mode 0600; False if the file exists.

    O_EXCL: two processes starting at once must not both write a key and sign with different ones —
    the one that finds the file made must load it instead of using its own.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return True


def write_new_file(path: Path, content: bytes) -> bool:
    """Write public ``content`` (a certificate) to a new file of mode 0644; False if the file exists.

    O_EXCL for the reason ``write_new_key`` gives: the first writer wins, the others read its file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return True


def ensure_secret(path: Path, size: int = 32) -> bytes:
    """Random bytes kept in ``path`` (mode 0600), made on first use; the same bytes for every process.

    Written to a private temporary file and linked into place: a link never replaces a file, so two
    processes starting at once agree on the first one's bytes and neither reads a half-written file.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(size))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()
