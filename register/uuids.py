"""Time-ordered UUIDs (RFC 9562 version 7) for rows written in bulk.

Random (version 4) keys scatter a bulk insert over the whole primary-key index; version 7 keys begin
with the time in milliseconds, so the rows of one delivery land next to each other in the index.
PostgreSQL 18 has uuidv7() but 17 does not, so they are made here.
"""

from __future__ import annotations

import random
import time
import uuid

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62


def uuid7() -> uuid.UUID:
    millis = time.time_ns() // 1_000_000
    rand_a = random.getrandbits(12)
    rand_b = random.getrandbits(62)
    return uuid.UUID(int=(millis << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT_RFC | rand_b)
