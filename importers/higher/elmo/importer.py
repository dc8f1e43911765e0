"""The ELMO importer: EMREX transcripts from FS (universities, university colleges and fagskoler)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import BinaryIO, ClassVar

from importers.base import ImportContext, Item, UnusableInput
from importers.higher.elmo import known_documents
from importers.higher.elmo.known_documents import Cut
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
from register.ingest import known_input
from register.ingest.known_input import Known, KnownInputs, KnownSpan, SpanEnd, SpanStart
from register.records import AchievementRecord
from register.sectors import Sector

# Signatures cover the whole document (Reference URI=""), so verifying one needs the whole tree in
# memory. EMREX transcripts are a few kilobytes; a document this large is a batch, not a transcript,
# and its signature is reported as not verified (or the file refused when a valid one is required).
SIGNED_DOCUMENT_LIMIT = 16 * 1024 * 1024


class ElmoImporter:
    """ELMO v1.0-v1.7 and v2.0, plain XML, base64 or gzip+base64; one or many learners per file."""

    name: ClassVar[str] = "elmo"
    #: raised with every change to what a document makes (register.ingest.known_input)
    mapping_version: ClassVar[int] = 1
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
            found = None if context.known is None else known_documents.cut(document, self._policy(context))
            if found is not None and context.known is not None:
                # no XML-DSig namespace in the file: verify_document says "absent" without parsing
                yield from self._judge_signature(SignatureOutcome("absent"), context)
                resend = _Resend(self, document, found, context.known)
                yield from self._read(resend.pieces(), context, signature_checked=True, resend=resend)
                return
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

    def _policy(self, context: ImportContext) -> list[object]:
        """What else a document's reading depends on (``known_documents``): in every digest."""
        return [
            context.sector.value,
            context.max_xml_depth,
            context.require_valid_signature,
            SIGNED_DOCUMENT_LIMIT,
        ]

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
        self,
        chunks: Iterator[bytes],
        context: ImportContext,
        *,
        signature_checked: bool,
        resend: _Resend | None = None,
    ) -> Iterator[Item]:
        warnings = Warnings()
        versions: dict[str, int] = {}
        learners = reports = records = 0
        learner: Learner | None = None
        pending: list[PendingRecord] = []
        global_attachments: dict = {}
        report_index = 0

        def skipped(upto: int | None) -> Iterator[Item]:
            """The known documents before ``upto``: their items unchanged, their details replayed."""
            nonlocal learners, reports, records
            assert resend is not None
            for index, hit in resend.known_before(upto):
                reports_of, version, refs = known_documents.replay(hit.note or "")
                learners, reports, records = learners + 1, reports + reports_of, records + len(refs)
                if version is not None:
                    versions[version] = versions.get(version, 0) + 1
                prefix = f"elmo[{index}]/"
                yield KnownSpan(f"elmo[{index}]", hit, tuple(prefix + ref for ref in refs))

        indexes = None if resend is None else resend.parsed
        span_warnings = 0
        span_refs: list[str] = []
        for event in iter_events(chunks, max_depth=context.max_xml_depth, indexes=indexes):
            where = f"elmo[{event.elmo_index}]"
            if event.kind == "elmo_start":
                if resend is not None:
                    yield from skipped(event.elmo_index)
                    yield SpanStart(resend.digests[event.elmo_index])
                    span_warnings, span_refs = sum(warnings.counts.values()), []
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
                        if isinstance(item, AchievementRecord):
                            span_refs.append(item.ref)
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
                    resolved = resolve_pending(waiting, global_attachments, warnings.add)
                    span_refs.append(resolved.ref)
                    yield resolved
                if learner is not None:
                    versions[learner.version] = versions.get(learner.version, 0) + 1
                if report_index == 0:
                    warnings.add("elmo.no_report", "the elmo element has no report", where)
                yield from warnings.drain()
                if resend is not None:
                    version = None if learner is None else learner.version
                    note = known_documents.note(report_index, version, span_refs, where + "/")
                    # a warning only counted (past Warnings.per_code) is not an item: checked here
                    quiet = sum(warnings.counts.values()) == span_warnings
                    yield SpanEnd(note, keep=quiet and note is not None)
        if resend is not None:
            yield from skipped(None)
        yield from warnings.drain()
        yield from warnings.summary()
        context.facts.details.update(
            {"elmo_versions": versions, "learners": learners, "reports": reports, "records": records}
        )
        context.facts.details.setdefault("signature", {"status": "absent"})


class _Resend:
    """A batch cut by ``known_documents``: which documents are known, and the rest to parse."""

    def __init__(self, importer: ElmoImporter, data: bytes, found: Cut, known: KnownInputs) -> None:
        self.data, self.documents = data, found.documents
        digest = known_input.digester(importer.name, importer.mapping_version, found.context)
        every = [digest(data[start:end]) for start, end in found.documents]
        hits: dict[bytes, Known] = {}
        first = size = 0
        for n, (start, end) in enumerate(found.documents):
            size += end - start
            if n + 1 - first >= known_input.CHUNK_RECORDS or size >= known_input.CHUNK_BYTES:
                hits.update(known.lookup(every[first : n + 1]))
                first, size = n + 1, 0
        hits.update(known.lookup(every[first:]))
        # a known document whose note does not name each of its items (never so) is parsed
        self.known = {
            n + 1: hits[d]
            for n, d in enumerate(every)
            if d in hits
            and len(known_documents.replay(hits[d].note or "[0, null, []]")[2]) == len(hits[d].items)
        }
        self.parsed = [n + 1 for n in range(len(every)) if n + 1 not in self.known]
        self.digests = {n: every[n - 1] for n in self.parsed}
        self._order = sorted(self.known)
        self._next = 0

    def pieces(self) -> Iterator[bytes]:
        """The file with each known document blanked (``known_documents.blank``)."""
        pos = 0
        for n, (start, end) in enumerate(self.documents, start=1):
            if n in self.known:
                yield self.data[pos:start]
                yield known_documents.blank(self.data[start:end])
                pos = end
        yield self.data[pos:]

    def known_before(self, index: int | None) -> Iterator[tuple[int, Known]]:
        """The known documents before the file's document ``index`` (None: all the rest), in order."""
        while self._next < len(self._order) and (index is None or self._order[self._next] < index):
            n = self._order[self._next]
            self._next += 1
            yield n, self.known[n]


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _warning(code: str, message: str) -> Item:
    from register.records import BatchWarning

    return BatchWarning(code=code, message=message, record="file")
