"""Revocation by IETF Token Status List (draft-ietf-oauth-status-list): one bit per credential.

Each credential gets a random place in a list of ``LIST_SIZE`` entries; a list is filled to half
before the next one is started (``wallet_status_seq`` counts credentials issued), so a list always
holds between 32 768 and 65 536 credentials of many people: a verifier fetching a list learns nothing
about which credential it checks (the draft's "herd privacy"), and random places keep the order of
issuance out of the index. 131 072 bits are 16 KiB before compression; a list of mostly valid
credentials compresses to a few hundred bytes.

Bit order is the draft's: entry *i* sits in byte ``i // 8`` at bit ``i % 8`` counted from the least
significant bit.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import uuid
import zlib
from collections.abc import Iterable, Sequence

import jwt
from sqlalchemy import Connection, text

from register.settings import Settings
from register.wallet.keys import ALGORITHM, issuer_keys

BITS = 1
VALID, INVALID = 0, 1
LIST_SIZE = 2**17
# A new list is begun when this many credentials were given places in the current one.
FILL = LIST_SIZE // 2

# The one statement that flips credentials to invalid: those holding any of the achievements in
# ``{ids}`` (an SQL expression yielding uuid[]). Set-based, so a batch of corrections is one UPDATE
# over the GIN index on achievement_ids, whatever its size (the ingest embeds it in its own statement).
INVALIDATE = """UPDATE wallet_credential SET status = 1, invalidated_at = now()
WHERE status = 0 AND achievement_ids && ({ids})"""


def encode(statuses: bytes | bytearray) -> dict[str, int | str]:
    """The ``status_list`` claim for a 1-bit list: its bytes zlib-compressed (level 9), base64url."""
    compressed = zlib.compress(bytes(statuses), 9)
    return {"bits": BITS, "lst": base64.urlsafe_b64encode(compressed).rstrip(b"=").decode()}


def decode(lst: str) -> bytes:
    """The status bytes of a ``lst`` value (base64url without padding, zlib/DEFLATE)."""
    return zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))


def status_at(statuses: bytes, index: int, bits: int = BITS) -> int:
    """The status of entry ``index`` in a list of ``bits``-bit entries (least significant bit first)."""
    position = index * bits
    return (statuses[position // 8] >> (position % 8)) & ((1 << bits) - 1)


def statuses_with(invalid: Iterable[int], size: int = LIST_SIZE) -> bytearray:
    """A 1-bit list of ``size`` entries, VALID but for the ``invalid`` indices."""
    statuses = bytearray(size // 8)
    for index in invalid:
        statuses[index // 8] |= 1 << (index % 8)
    return statuses


def allocate(conn: Connection) -> tuple[int, int]:
    """A list number and a free random index in it (the caller inserts the credential with both).

    The index is only reserved by that insert (unique on list and index); the caller retries with
    ``next_index`` on a conflict. A list half full leaves a 1-in-2 chance of a collision at worst.
    """
    issued = conn.execute(text("SELECT nextval('wallet_status_seq')")).scalar_one()
    return int(issued) // FILL, next_index()


def next_index() -> int:
    return secrets.randbelow(LIST_SIZE)


def list_statuses(conn: Connection, list_no: int) -> bytearray | None:
    """The current bits of list ``list_no``; None if no credential was ever given a place in it."""
    rows = conn.execute(
        text("SELECT status_index, status FROM wallet_credential WHERE status_list = :n"), {"n": list_no}
    ).all()
    if not rows:
        return None
    return statuses_with(index for index, status in rows if status == INVALID)


def invalidate(conn: Connection, achievement_ids: Sequence[uuid.UUID]) -> int:
    """Flip every valid credential holding one of ``achievement_ids`` to INVALID; how many were flipped."""
    statement = INVALIDATE.format(ids="CAST(:ids AS uuid[])")
    return conn.execute(text(statement), {"ids": list(achievement_ids)}).rowcount


STATUS_LIST_TYP = "statuslist+jwt"
TOKEN_LIFETIME_SECONDS = 86_400  # a day: verifiers refetch within ttl anyway; exp bounds a stale copy


def status_list_token(conn: Connection, list_no: int, settings: Settings) -> str | None:
    """Status list ``list_no`` as a signed Status List Token (JWT, ``typ`` statuslist+jwt); None if the
    list was never begun. ``sub`` is the URI every credential in the list names in ``status.status_list``."""
    statuses = list_statuses(conn, list_no)
    if statuses is None:
        return None
    keys = issuer_keys(settings)
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": settings.wallet_issuer_url,
        "sub": f"{settings.wallet_issuer_url}/wallet/status/{list_no}",
        "iat": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "ttl": settings.wallet_status_ttl_seconds,
        "status_list": encode(statuses),
    }
    return jwt.encode(claims, keys.key, algorithm=ALGORITHM, headers=keys.headers(STATUS_LIST_TYP))
