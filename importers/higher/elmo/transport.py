"""How an ELMO document arrives: plain XML, base64 of XML, or gzip then base64 (as EMREX sends it).

Everything here streams in bounded steps. The raw input and the decoded output are both held to the
size limit, and gzip output is also held to a compression ratio, so a small "zip bomb" is refused after
a few megabytes of work instead of after gigabytes. A gzip stream that ends early is refused with its
own code: a truncated transcript must not be imported as if it were complete.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from importers.base import UnusableInput

READ_BYTES = 64 * 1024
# Real XML compresses 5-20 times; a ratio far beyond that is a bomb, not a transcript. Checked only
# past a floor so that tiny, highly regular files are not refused for being small.
MAX_GZIP_RATIO = 200
RATIO_FLOOR_BYTES = 8 * 1024 * 1024

_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \t\r\n")
_WHITESPACE = b" \t\r\n"
_GZIP_MAGIC = b"\x1f\x8b"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def sniff(head: bytes) -> str | None:
    """Which transport the bytes are in: ``xml``, ``gzip``, ``base64``, or None for none of them."""
    stripped = head.lstrip(_WHITESPACE)
    if stripped.startswith(_BOMS) or stripped.startswith(b"<"):
        return "xml"
    if stripped.startswith(_GZIP_MAGIC):
        return "gzip"
    sample = stripped[:4096]
    if len(sample) >= 8 and all(b in _B64_ALPHABET for b in sample):
        return "base64"
    return None


def decode_base64_head(head: bytes) -> bytes:
    """The first bytes of a base64 text, decoded as far as whole quanta go (for ``identify``)."""
    text = head.translate(None, _WHITESPACE).replace(b"-", b"+").replace(b"_", b"/")
    usable = len(text) - len(text) % 4
    try:
        return binascii.a2b_base64(text[:usable])
    except binascii.Error:
        return b""


def raw_chunks(source: BinaryIO, max_bytes: int) -> Iterator[bytes]:
    total = 0
    while chunk := source.read(READ_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise UnusableInput(
                "input.too_large", f"the delivery is larger than the limit of {max_bytes} bytes"
            )
        yield chunk


def _base64_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk.translate(None, _WHITESPACE).replace(b"-", b"+").replace(b"_", b"/")
        usable = len(pending) - len(pending) % 4
        if usable:
            yield _b64(pending[:usable])
            pending = pending[usable:]
    if pending:
        raise UnusableInput(
            "elmo.base64_truncated",
            f"the base64 text ends in the middle of a quantum ({len(pending)} characters left over):"
            " the delivery is truncated",
        )


def _b64(data: bytes) -> bytes:
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error as exc:
        raise UnusableInput("elmo.base64_invalid", f"the delivery is not valid base64: {exc}") from None


def _gunzip_chunks(chunks: Iterator[bytes], max_bytes: int) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    consumed = produced = 0
    for chunk in chunks:
        consumed += len(chunk)
        data = chunk
        while data:
            if decompressor.eof:
                if data.strip(_WHITESPACE):
                    raise UnusableInput(
                        "elmo.gzip_trailing_data", "there are bytes after the end of the gzip stream"
                    )
                break
            try:
                out = decompressor.decompress(data, READ_BYTES)
            except zlib.error as exc:
                raise UnusableInput("elmo.gzip_invalid", f"the gzip stream is damaged: {exc}") from None
            produced += len(out)
            if produced > max_bytes:
                raise UnusableInput(
                    "input.too_large",
                    f"the decompressed delivery is larger than the limit of {max_bytes} bytes",
                )
            if produced > RATIO_FLOOR_BYTES and produced > MAX_GZIP_RATIO * consumed:
                raise UnusableInput(
                    "elmo.gzip_ratio",
                    f"the gzip stream expands more than {MAX_GZIP_RATIO} times (a decompression bomb?)",
                )
            if out:
                yield out
            data = decompressor.unconsumed_tail
            if decompressor.eof and decompressor.unused_data:
                data = decompressor.unused_data
    if not decompressor.eof:
        raise UnusableInput(
            "elmo.gzip_truncated",
            "the gzip stream ends before its end marker: the delivery is truncated or incomplete",
        )


def _peek(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head.lstrip(_WHITESPACE)) >= size:
            break
    return head, _prepend(head, chunks)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def decoded_chunks(source: BinaryIO, max_bytes: int) -> tuple[str, Iterator[bytes]]:
    """The transport name and the XML bytes of ``source``, as a bounded stream of chunks."""
    head, chunks = _peek(raw_chunks(source, max_bytes), 16)
    kind = sniff(head)
    if kind == "xml":
        return "xml", chunks
    if kind == "gzip":
        return "gzip", _gunzip_chunks(chunks, max_bytes)
    if kind == "base64":
        decoded_head, decoded = _peek(_base64_chunks(chunks), 16)
        inner = sniff(decoded_head)
        if inner == "gzip":
            return "gzip+base64", _gunzip_chunks(decoded, max_bytes)
        if inner == "xml":
            return "base64", decoded
        raise UnusableInput("elmo.not_xml", "the base64 text does not decode to XML or to gzip")
    if not head.strip(_WHITESPACE):
        raise UnusableInput("elmo.empty", "the delivery is empty")
    raise UnusableInput("elmo.not_xml", "the delivery is neither XML, gzip nor base64")
