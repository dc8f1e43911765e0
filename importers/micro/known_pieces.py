"""Credentials delivered before: recognised by their digest, and not read again.

The protocol is ``register.ingest.known_input``'s. The raw record is one credential document as the
project's JSON scanner cuts it (``split_documents``: strings, escapes and nesting are scanned, so a
``}`` inside a string never ends a credential), read under the importer's policy (trusted issuer keys,
expired credentials, verified proofs only, the nesting limit): the policy is part of the digest.

What a credential makes depends on one more thing, the clock: past its ``validUntil`` it is imported
with a warning, or rejected. So the note keeps the earliest ``validUntil`` of its records, and a known
credential is skipped only before that instant; it also keeps each record's format, for the batch's
``credentials_by_format``. A credential is remembered only where every record it made carries its
reference (``credential 7``; the claims of one ELM credential are named apart, and are read again).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from importers.micro.common import parse_timestamp
from importers.micro.jsonstream import Piece
from register.ingest import known_input
from register.ingest.known_input import KnownInputs, KnownSpan, SpanEnd, SpanStart
from register.records import AchievementRecord

if TYPE_CHECKING:
    from importers.base import ImportContext, Item
    from importers.micro.importer import MicroConfig, MicroCredentialImporter


def extract(
    importer: MicroCredentialImporter,
    pieces: Iterator[Piece],
    context: ImportContext,
    config: MicroConfig,
    known: KnownInputs,
) -> Iterator[Item]:
    policy = json.dumps(
        [sorted(config.trusted_keys.by_issuer.items()), config.expired, config.require_verified_proof,
         context.max_xml_depth],
        sort_keys=True, default=str,
    ).encode()  # fmt: skip
    digest = known_input.digester(importer.name, importer.mapping_version, policy)
    chunk: list[tuple[Piece, bytes | None]] = []
    size = 0
    for piece in pieces:
        chunk.append(
            (piece, None if piece.data is None else digest(piece.kind.encode() + b"\0" + piece.data))
        )
        size += 0 if piece.data is None else len(piece.data)
        if len(chunk) >= known_input.CHUNK_RECORDS or size >= known_input.CHUNK_BYTES:
            yield from _chunk(importer, chunk, context, config, known)
            chunk, size = [], 0
    yield from _chunk(importer, chunk, context, config, known)


def _chunk(
    importer: MicroCredentialImporter,
    chunk: list[tuple[Piece, bytes | None]],
    context: ImportContext,
    config: MicroConfig,
    known: KnownInputs,
) -> Iterator[Item]:
    found = known.lookup([d for _, d in chunk if d is not None])
    now = config.now()
    for piece, digest in chunk:
        if digest is None:
            yield from importer._read_piece(piece, context, config)
            continue
        ref = f"credential {piece.index}"
        hit = found.get(digest)
        if hit is not None and hit.note is not None:  # a note is always kept with a credential
            _, until = _parsed_note(hit.note)
            if until is None or now < until:
                yield KnownSpan(ref, hit)
                continue
        yield SpanStart(digest)
        records: list[AchievementRecord] = []
        for item in importer._read_piece(piece, context, config):
            if isinstance(item, AchievementRecord):
                records.append(item)
            yield item
        # the claims of one ELM credential have references of their own: not kept, read again
        yield SpanEnd(_note(records), keep=bool(records) and all(r.ref == ref for r in records))


def _note(records: list[AchievementRecord]) -> str:
    """Each record's format (in order) and the earliest validUntil among them (or None)."""
    formats: list[str] = []
    until: dt.datetime | None = None
    for record in records:
        details: dict[str, Any] = dict(record.details or {})
        formats.append(str(details.get("format", "?")))
        at = parse_timestamp((details.get("validity") or {}).get("valid_until"))
        if at is not None and (until is None or at < until):
            until = at
    return json.dumps([formats, None if until is None else until.isoformat()])


def formats_of(span: KnownSpan) -> tuple[str, ...]:
    """The formats of a known credential's records, for ``credentials_by_format``."""
    return () if span.known.note is None else _parsed_note(span.known.note)[0]


@functools.lru_cache(maxsize=2 * known_input.CHUNK_RECORDS)
def _parsed_note(note: str) -> tuple[tuple[str, ...], dt.datetime | None]:
    """A note read once for both its uses (the skip, then the count by format), more than a chunk apart
    at most; credentials of one kind often share one."""
    formats, until = json.loads(note)
    return tuple(formats), None if until is None else dt.datetime.fromisoformat(until)
