"""Split a delivery into credential documents with bounded memory, before any JSON parser sees it.

``json.loads`` on hostile input is unsafe in two ways: deep nesting exhausts the interpreter's stack
(100 MB of ``[`` is enough), and a huge document is held whole in memory several times over. So the
stream is first cut into top-level documents by a small scanner that tracks only string state and a
bracket stack: nesting beyond ``max_depth`` stops the file at once, a document beyond ``max_item_bytes``
is skipped (and reported) without being kept, and only a document that passed both is given to
``json.loads``. Memory stays at one read chunk plus one document.

A delivery is one of:
- one JSON document (a credential, an envelope, a signed ELM wrapper);
- a JSON array of such documents or of compact JWT strings (each element is one credential);
- JSON Lines / concatenated JSON (one document after another);
- compact VC-JWTs, one per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

CHUNK = 1024 * 1024

# Outside a string only brackets and strings matter: a whole string (unrolled, so linear), a bracket, or
# a lone quote whose string does not end in this chunk. Inside such a string, the quote and the escape.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}"]', re.DOTALL)
_INSIDE = re.compile(rb'["\\]')
_JWT_LINE = re.compile(rb"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")
_BOM = b"\xef\xbb\xbf"
_SPACE = frozenset(b" \t\r\n")
_OPEN = {ord("]"): ord("["), ord("}"): ord("{")}


class StreamError(Exception):
    """The file's structure is broken or hostile; nothing of it can be read."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_depth(data: bytes, max_depth: int) -> None:
    """Raise StreamError if JSON text held in memory nests deeper than ``max_depth``.

    For JSON that arrives inside another document (a JWT payload, a JAdES payload string), which the
    splitter saw only as a string.
    """
    depth = 0
    for match in _TOKEN.finditer(data):
        token = match.group()
        if len(token) > 1:
            continue
        if token in (b"{", b"["):
            depth += 1
            if depth > max_depth:
                raise StreamError(
                    "micro.too_deep", f"nesting deeper than {max_depth} levels; refused before parsing"
                )
        elif token in (b"}", b"]"):
            depth -= 1
        else:
            return  # a string that never ends: the parser stops there with an error, before any nesting


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
    while len(head.lstrip(bytes(_SPACE))) < 1 or len(head) < 4:
        more = source.read(CHUNK)
        if not more:
            break
        head += more
    body = head[3:] if head.startswith(_BOM) else head
    first = body.lstrip(bytes(_SPACE))[:1]
    if not first:
        raise StreamError("micro.empty", "the file holds no credential (it is empty or only whitespace)")
    if first in (b"{", b"["):
        yield from _JsonScanner(max_total_bytes, max_item_bytes, max_depth).scan(body, source)
    else:
        yield from _jwt_lines(body, source, max_total_bytes, max_item_bytes)


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


@dataclass(slots=True)
class _Document:
    index: int
    kind: str
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    dropped: bool = False


class _JsonScanner:
    """Cuts concatenated JSON, or the elements of one top-level array, into documents."""

    def __init__(self, max_total: int, max_item: int, max_depth: int) -> None:
        self.max_total = max_total
        self.max_item = max_item
        self.max_depth = max_depth

    def _keep(self, doc: _Document, data: bytes) -> None:
        doc.size += len(data)
        if doc.dropped:
            return
        if doc.size > self.max_item:
            doc.parts.clear()
            doc.dropped = True
            return
        doc.parts.append(data)

    @staticmethod
    def _piece(doc: _Document) -> Piece:
        return Piece(doc.index, doc.kind, None if doc.dropped else b"".join(doc.parts), doc.size)

    def scan(self, head: bytes, source: BinaryIO) -> Iterator[Piece]:
        stack = bytearray()
        in_string = False
        escaped = False
        array_mode = False  # the delivery is one top-level array whose elements are the documents
        offset = 0  # bytes of the file before ``chunk``
        count = 0
        doc: _Document | None = None
        start = 0  # where ``doc`` starts in ``chunk``
        chunk = head
        while chunk:
            if offset + len(chunk) > self.max_total:
                raise StreamError(
                    "micro.too_large", f"the file exceeds the upload limit of {self.max_total} bytes"
                )
            pos, n = 0, len(chunk)
            while pos < n:
                base = 1 if array_mode else 0
                if in_string:
                    if escaped:
                        escaped, pos = False, pos + 1
                        continue
                    m = _INSIDE.search(chunk, pos)
                    if m is None:
                        pos = n
                        continue
                    pos = m.end()
                    if m.group() == b"\\":
                        escaped = True
                        continue
                    in_string = False
                    if doc is not None and doc.kind == "jwt" and len(stack) == base:
                        self._keep(doc, chunk[start:pos])
                        yield self._piece(doc)
                        doc = None
                    continue
                if doc is None:
                    byte = chunk[pos]
                    if byte in _SPACE or (array_mode and byte == ord(",")):
                        pos += 1
                        continue
                    if array_mode and byte == ord("]"):
                        stack.pop()
                        array_mode = False
                        pos += 1
                        continue
                    if byte == ord("[") and not stack and count == 0:
                        stack.append(byte)
                        array_mode = True
                        pos += 1
                        continue
                    if byte == ord("{") or (array_mode and byte == ord('"')):
                        count += 1
                        doc = _Document(count, "json" if byte == ord("{") else "jwt")
                        start = pos
                    else:
                        raise StreamError(
                            "micro.json_malformed",
                            f"unexpected {chr(byte)!r} at byte {offset + pos}: each credential must be a JSON"
                            " object (in an array, also a compact JWT string)",
                        )
                # Inside a document: one regex match per bracket or per whole string (strings are half
                # the tokens of a credential and may be long base64 images), until the document closes
                # or a string runs past the chunk's end (then the slow path above follows it).
                for m in _TOKEN.finditer(chunk, pos):
                    pos = m.end()
                    token = m.group()
                    if len(token) > 1:
                        if doc is not None and doc.kind == "jwt" and len(stack) == base:
                            self._keep(doc, chunk[start:pos])
                            yield self._piece(doc)
                            doc = None
                            break
                        continue
                    byte = token[0]
                    if byte == ord('"'):
                        in_string = True
                        break
                    if byte in (ord("{"), ord("[")):
                        stack.append(byte)
                        if len(stack) > self.max_depth:
                            raise StreamError(
                                "micro.too_deep",
                                f"nesting deeper than {self.max_depth} levels at byte {offset + pos - 1};"
                                " refused before parsing",
                            )
                        continue
                    if not stack or stack[-1] != _OPEN[byte]:
                        raise StreamError(
                            "micro.json_malformed", f"unbalanced {chr(byte)!r} at byte {offset + pos - 1}"
                        )
                    stack.pop()
                    if doc is not None and len(stack) == base:
                        self._keep(doc, chunk[start:pos])
                        yield self._piece(doc)
                        doc = None
                        break
                else:
                    pos = n
            if doc is not None:
                self._keep(doc, chunk[start:])
                start = 0
            offset += len(chunk)
            chunk = source.read(CHUNK)
        if in_string or stack or doc is not None:
            raise StreamError(
                "micro.json_malformed",
                f"the JSON ends in the middle of a value (at byte {offset}): the file is truncated or broken",
            )
        if count == 0:
            raise StreamError("micro.empty", "the file holds no credential")
