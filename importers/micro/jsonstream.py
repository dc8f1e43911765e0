"""Split a micro-credential delivery into credential documents with bounded memory.

JSON deliveries go through the project's one streaming JSON scanner (``importers.jsonscan``: nesting
beyond ``max_depth`` stops the file at once, a credential beyond ``max_item_bytes`` is skipped unkept and
reported, only a credential that passed both reaches ``json.loads``); compact VC-JWTs one per line are
cut here by lines. Memory stays at the scanner's few windows (an array is cut in C a window at a
time) or one read chunk, plus one document.

A delivery is one of:
- one JSON document (a credential, an envelope, a signed ELM wrapper);
- a JSON array of such documents or of compact JWT strings (each element is one credential);
- JSON Lines / concatenated JSON (one document after another);
- compact VC-JWTs, one per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from importers import jsonscan
from importers.jsonscan import CHUNK, ScanRules
from importers.jsonscan import ScanError as StreamError

__all__ = ["CHUNK", "Piece", "StreamError", "check_depth", "split_documents"]

_JWT_LINE = re.compile(rb"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")
_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\n"

#: the scanner's rules in the codes the micro-credential docs list (docs/formats/micro.md)
_CODES: dict[jsonscan.Rule, str] = {
    "too_large": "micro.too_large",
    "too_deep": "micro.too_deep",
    "malformed": "micro.json_malformed",
    "truncated": "micro.json_malformed",
    "trailing": "micro.json_malformed",
    "not_array": "micro.json_malformed",
    "oversized": "micro.too_large",
    "empty": "micro.empty",
}


def check_depth(data: bytes, max_depth: int) -> None:
    """Raise StreamError if JSON text held in memory nests deeper than ``max_depth``.

    For JSON that arrives inside another document (a JWT payload, a JAdES payload string), which the
    splitter saw only as a string.
    """
    jsonscan.check_depth(data, max_depth, "micro.too_deep")


@dataclass(frozen=True, slots=True)
class Piece:
    """One document of the delivery as raw bytes, or ``data=None`` when it exceeded the size limit."""

    index: int  # 1-based position in the delivery
    kind: str  # "json" (an object) | "jwt" (a compact JWS, bare or as a JSON string)
    data: bytes | None
    size: int


def split_documents(
    source: BinaryIO, *, max_total_bytes: int, max_item_bytes: int, max_depth: int
) -> Iterator[Piece]:
    """Yield the credential documents of ``source`` one at a time; raise StreamError for a broken file."""
    head = b""
    while len(head.lstrip(_SPACE)) < 1 or len(head) < 4:
        more = source.read(CHUNK)
        if not more:
            break
        head += more
    body = head[3:] if head.startswith(_BOM) else head
    first = body.lstrip(_SPACE)[:1]
    if not first:
        raise StreamError("micro.empty", "the file holds no credential (it is empty or only whitespace)")
    if first in (b"{", b"["):
        yield from _json_documents(body, source, max_total_bytes, max_item_bytes, max_depth)
    else:
        yield from _jwt_lines(body, source, max_total_bytes, max_item_bytes)


def _json_documents(
    head: bytes, source: BinaryIO, max_total: int, max_item: int, max_depth: int
) -> Iterator[Piece]:
    rules = ScanRules(
        codes=_CODES,
        max_item_bytes=max_item,
        max_depth=max_depth,
        max_total_bytes=max_total,
        sequence=True,
        oversized="skip",
        item="credential",
        element_kinds=frozenset(("object", "string")),
        element_hint="each credential must be a JSON object (in an array, also a compact JWT string)",
    )
    count = 0
    for value in jsonscan.scan_values(head, source, rules):
        count += 1
        yield Piece(value.index, "json" if value.kind == "object" else "jwt", value.data, value.size)
    if count == 0:
        raise StreamError("micro.empty", "the file holds no credential")


def _jwt_lines(head: bytes, source: BinaryIO, max_total: int, max_item: int) -> Iterator[Piece]:
    index = 0
    total = 0
    line: list[bytes] = []
    line_size = 0
    line_number = 1
    chunk = head
    while chunk:
        total += len(chunk)
        if total > max_total:
            raise StreamError("micro.too_large", f"the file exceeds the upload limit of {max_total} bytes")
        parts = chunk.split(b"\n")
        for position, part in enumerate(parts):
            line_size += len(part)
            if line_size <= max_item:
                line.append(part)
            if position == len(parts) - 1:
                break  # the line continues in the next chunk
            piece = _jwt_piece(index, line, line_size, max_item, line_number)
            if piece is not None:
                index = piece.index
                yield piece
            line, line_size = [], 0
            line_number += 1
        chunk = source.read(CHUNK)
    piece = _jwt_piece(index, line, line_size, max_item, line_number)
    if piece is not None:
        index = piece.index
        yield piece
    if index == 0:
        raise StreamError("micro.empty", "the file holds no credential")


def _jwt_piece(index: int, parts: list[bytes], size: int, max_item: int, line_number: int) -> Piece | None:
    if size > max_item:
        return Piece(index + 1, "jwt", None, size)
    text = b"".join(parts).strip()
    if not text:
        return None
    if not _JWT_LINE.match(text):
        raise StreamError(
            "micro.format",
            f"line {line_number} is neither JSON nor a compact JWT (three base64url parts separated by dots)",
        )
    return Piece(index + 1, "jwt", text, len(text))
