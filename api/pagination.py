"""Opaque cursors for keyset pagination, shared by REST (batches) and GraphQL (achievements)."""

from __future__ import annotations

import base64
import binascii

from api.errors import ApiError


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    """The parts of an opaque cursor; a cursor that was not made here is a 422 ``request.cursor``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split("|")
    except (ValueError, UnicodeError, binascii.Error):
        values = []
    if len(values) != parts:
        raise ApiError(422, "request.cursor", "the cursor is not one this API handed out")
    return values
