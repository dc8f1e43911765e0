"""The ELMO importer: EMREX transcripts from FS (universities, university colleges and fagskoler)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import BinaryIO, ClassVar

from importers.base import ImportContext, Item, UnusableInput
from importers.higher.elmo.mapping import (
    Learner,
    PendingRecord,
    ReportContext,
    Warnings,
    map_report,
    read_attachment,
    read_learner,
    resolve_pending,
)
from importers.higher.elmo.reader import ELMO_NS, LEGACY_NS, NO_NS, is_bare_elmo, iter_events
from importers.higher.elmo.signature import SignatureOutcome, verify_document
from importers.higher.elmo.transport import decode_base64_head, decoded_chunks, sniff
from register.sectors import Sector

# Signatures cover the whole document (Reference URI=""), so verifying one needs the whole tree in
# memory. EMREX transcripts are a few kilobytes; a document this large is a batch, not a transcript,
# and its signature is reported as not verified (or the file refused when a valid one is required).
SIGNED_DOCUMENT_LIMIT = 16 * 1024 * 1024


class ElmoImporter:
    """ELMO v1.0-v1.7 and v2.0, plain XML, base64 or gzip+base64; one or many learners per file."""

    name: ClassVar[str] = "elmo"
    sectors: ClassVar[frozenset[Sector]] = frozenset({Sector.HIGHER, Sector.VOCATIONAL})
    # The learner is the one part of a record the ingest judges that ELMO names in one place; the rest
    # of a record's paths point into its learningOpportunitySpecification, which the ref already names.
    field_names: ClassVar[Mapping[str, str]] = MappingProxyType(
        {
            "person": "learner",
            "person.identifiers": "learner/identifier",
            "person.identifiers[0]": "learner/identifier",
        }
    )

    def identify(self, head: bytes, filename: str | None, content_type: str | None) -> bool:
        kind = sniff(head)
        if kind == "base64":
            head = decode_base64_head(head)
            kind = sniff(head)
        if kind == "gzip":
            try:
                head = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(head, 256 * 1024)
            except zlib.error:
                return False
            kind = sniff(head)
        if kind != "xml":
            return False
        return ELMO_NS.encode() in head or LEGACY_NS.encode() in head or is_bare_elmo(head)

    def extract(self, source: BinaryIO, context: ImportContext) -> Iterator[Item]:
        """Stream the delivery learner by learner; see docs/formats/elmo.md for the mapping."""
        facts = context.facts
        facts.format = "elmo"
        transport, chunks = decoded_chunks(source, context.max_bytes)
        facts.details["transport"] = transport

        buffered: list[bytes] = []
        size = 0
        for chunk in chunks:
            buffered.append(chunk)
            size += len(chunk)
            if size > SIGNED_DOCUMENT_LIMIT:
                break
        else:
            document = b"".join(buffered)
            outcome = verify_document(document)
            yield from self._judge_signature(outcome, context)
            yield from self._read(iter([document]), context, signature_checked=True)
            return
        if context.require_valid_signature:
            raise UnusableInput(
                "elmo.signature_unverifiable",
                f"a valid signature is required, and a document over {SIGNED_DOCUMENT_LIMIT} bytes cannot be"
                " verified in bounded memory; send transcripts one learner per document",
            )
        yield from self._read(_chain(buffered, chunks), context, signature_checked=False)

    def _judge_signature(self, outcome: SignatureOutcome, context: ImportContext) -> Iterator[Item]:
        context.facts.details["signature"] = outcome.as_details()
        if outcome.status == "valid":
            if outcome.algorithm and outcome.algorithm.endswith("sha1"):
                yield _warning("elmo.signature_weak", "the signature is valid but uses SHA-1")
            return
        if outcome.status == "absent":
            if context.require_valid_signature:
                raise UnusableInput(
                    "elmo.signature_missing",
                    "the document is not signed, and REGISTER_ELMO_REQUIRE_VALID_SIGNATURE requires a valid"
                    " signature",
                )
            return
        what = {
            "invalid": "the signature does not verify",
            "expired": "the signing certificate is not valid now",
            "not_verified": "the signature could not be verified",
        }[outcome.status]
        message = f"{what}: {outcome.reason}" + (
            f" (certificate {outcome.subject})" if outcome.subject else ""
        )
        if context.require_valid_signature:
            raise UnusableInput(f"elmo.signature_{outcome.status}", message)
        yield _warning(f"elmo.signature_{outcome.status}", message)

    def _read(
        self, chunks: Iterator[bytes], context: ImportContext, *, signature_checked: bool
    ) -> Iterator[Item]:
        warnings = Warnings()
        versions: dict[str, int] = {}
        learners = reports = records = 0
        learner: Learner | None = None
        pending: list[PendingRecord] = []
        global_attachments: dict = {}
        report_index = 0
        for event in iter_events(chunks, max_depth=context.max_xml_depth):
            where = f"elmo[{event.elmo_index}]"
            if event.kind == "elmo_start":
                learner, pending, global_attachments, report_index = None, [], {}, 0
                learners += 1
                if event.ns == LEGACY_NS:
                    warnings.add(
                        "elmo.legacy_namespace",
                        f"pre-2015 ELMO (namespace {LEGACY_NS}); read with the legacy mapping",
                        where,
                    )
                elif event.ns == NO_NS:
                    warnings.add(
                        "elmo.no_namespace",
                        f"ELMO without its namespace ({ELMO_NS}); read by element names as ELMO",
                        where,
                    )
            elif event.kind == "learner":
                learner = read_learner(event.element, event.ns, warnings, where)
            elif event.kind == "report":
                report_index += 1
                reports += 1
                ctx = ReportContext(
                    sector=context.sector,
                    elmo_index=event.elmo_index,
                    report_index=report_index,
                    ns=event.ns,
                    warnings=warnings,
                    learner=learner,
                )
                for item in map_report(event.element, ctx):
                    if isinstance(item, PendingRecord):
                        pending.append(item)
                    else:
                        records += 1
                        yield item
                yield from warnings.drain()
                if learner is None and event.ns == LEGACY_NS:
                    versions["legacy"] = versions.get("legacy", 0) + 1
            elif event.kind == "attachment":
                ids, content = read_attachment(event.element, event.ns, warnings, where)
                if content is not None:
                    for ident in ids:
                        global_attachments[ident] = content
                    if not ids:
                        warnings.add(
                            "elmo.attachment_unlinked",
                            f"attachment {content.title or '(untitled)'!r} has no identifier, so no result"
                            " references it; not stored with a result (the delivered file keeps it)",
                            where,
                            "attachment",
                        )
            elif event.kind == "signature" and not signature_checked:
                context.facts.details["signature"] = {
                    "status": "not_verified",
                    "reason": f"documents over {SIGNED_DOCUMENT_LIMIT} bytes are not verified",
                }
                warnings.add(
                    "elmo.signature_not_verified",
                    f"the document is signed but larger than {SIGNED_DOCUMENT_LIMIT} bytes; the signature was"
                    " not verified",
                    where,
                )
            elif event.kind == "elmo_end":
                if event.ns == NO_NS and learner is None and report_index == 0:
                    # Without the namespace only the structure says ELMO; an elmo element with neither
                    # learner nor report is not a transcript.
                    raise UnusableInput(
                        "elmo.no_elmo",
                        f"the document has no elmo element in the namespace {ELMO_NS}, and its bare elmo"
                        " element holds neither learner nor report",
                    )
                for waiting in pending:
                    records += 1
                    yield resolve_pending(waiting, global_attachments, warnings.add)
                if learner is not None:
                    versions[learner.version] = versions.get(learner.version, 0) + 1
                if report_index == 0:
                    warnings.add("elmo.no_report", "the elmo element has no report", where)
                yield from warnings.drain()
        yield from warnings.drain()
        yield from warnings.summary()
        context.facts.details.update(
            {"elmo_versions": versions, "learners": learners, "reports": reports, "records": records}
        )
        context.facts.details.setdefault("signature", {"status": "absent"})


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _warning(code: str, message: str) -> Item:
    from register.records import BatchWarning

    return BatchWarning(code=code, message=message, record="file")
