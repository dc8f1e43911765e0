"""The ELMO importer: EMREX transcripts from FS (universities, university colleges and fagskoler)."""

from __future__ import annotations

import collections
import zlib
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import BinaryIO, ClassVar

from importers.base import ImportContext, Item, UnusableInput
from importers.higher.elmo import known_documents
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
from importers.higher.elmo.reader import (
    DSIG_NS,
    ELMO_NS,
    LEGACY_NS,
    NO_NS,
    PROLOG_LIMIT,
    is_bare_elmo,
    iter_events,
    no_elmo,
)
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
            if context.known is not None and DSIG_NS.encode() not in document:
                # no XML-DSig namespace in the file: verify_document says "absent" without parsing
                yield from self._judge_signature(SignatureOutcome("absent"), context)
                cutter = _Resend(self, context.known, self._policy(context, checked=True))
                pieces = cutter.pieces(iter([document]))
                yield from self._read(pieces, context, signature_checked=True, resend=cutter)
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
        resend = None
        stream = _chain(buffered, chunks)
        if context.known is not None:
            resend = _Resend(self, context.known, self._policy(context, checked=False))
            stream = resend.pieces(stream)
        yield from self._read(stream, context, signature_checked=False, resend=resend)

    def _policy(self, context: ImportContext, *, checked: bool) -> list[object]:
        """What else a document's reading depends on (``known_documents``): in every digest. ``checked``:
        the file's signature is verified whole (a file up to SIGNED_DOCUMENT_LIMIT), or a signature in
        a document is only reported as not verified."""
        return [
            checked,
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
            for index, (hit, (reports_of, version, refs)) in resend.known_before(upto):
                learners, reports, records = learners + 1, reports + reports_of, records + len(refs)
                if version is not None:
                    versions[version] = versions.get(version, 0) + 1
                prefix = f"elmo[{index}]/"
                yield KnownSpan(f"elmo[{index}]", hit, tuple(prefix + ref for ref in refs))

        index_of = None if resend is None else resend.index_of
        in_span = False
        span_warnings = 0
        span_refs: list[str] = []
        for event in iter_events(chunks, max_depth=context.max_xml_depth, index_of=index_of):
            where = f"elmo[{event.elmo_index}]"
            if event.kind == "elmo_start":
                if resend is not None:
                    yield from skipped(event.elmo_index)
                    digest = resend.digests.pop(event.elmo_index, None)
                    in_span = digest is not None  # None: not cut (the scan stopped before it)
                    if digest is not None:
                        yield SpanStart(digest)
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
                if in_span:
                    in_span = False
                    version = None if learner is None else learner.version
                    note = known_documents.note(report_index, version, span_refs, where + "/")
                    # a warning only counted (past Warnings.per_code) is not an item: checked here
                    quiet = sum(warnings.counts.values()) == span_warnings
                    yield SpanEnd(note, keep=quiet and note is not None)
        if resend is not None:
            yield from skipped(None)
            if learners == 0:  # no elmo element parsed nor skipped: as iter_events says alone
                raise no_elmo()
        yield from warnings.drain()
        yield from warnings.summary()
        context.facts.details.update(
            {"elmo_versions": versions, "learners": learners, "reports": reports, "records": records}
        )
        context.facts.details.setdefault("signature", {"status": "absent"})


class _Resend:
    """A batch cut by ``known_documents`` as it streams: which documents are known, and the rest of the
    file to parse. Buffers at most ``CHUNK_BYTES`` of an unfinished item and ``CHUNK_BYTES`` of cut
    documents awaiting their lookup; a document larger than that stops the cutting (the rest is parsed)."""

    def __init__(self, importer: ElmoImporter, known: KnownInputs, policy: list[object]) -> None:
        self.importer, self.lookup, self.policy = importer, known, policy
        # file index → what it made and its note read (reports, ELMO version, references), until replayed
        self.known: dict[int, tuple[Known, known_documents.Replay]] = {}
        self.digests: dict[int, bytes] = {}  # file index → digest of a cut document fed to the parser
        self._fed: collections.deque[int] = collections.deque()  # their file indexes, in order
        self._fed_count = self._cut_count = 0
        self._order: collections.deque[int] = collections.deque()

    def index_of(self, n: int) -> int:
        """The file's index of the parser's ``n``-th ``elmo`` element."""
        if self._fed:
            return self._fed.popleft()
        return self._cut_count + (n - self._fed_count)  # after the scan stopped: all cut ones before

    def pieces(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """The file with each known document blanked (``known_documents.blank``)."""
        limit = known_input.CHUNK_BYTES
        buffer, eof = b"", False
        for chunk in chunks:
            buffer += chunk
            if len(buffer) >= PROLOG_LIMIT:
                break
        else:
            eof = True
        root = known_documents.open_root(buffer[:PROLOG_LIMIT])
        if root is None:
            yield buffer
            yield from chunks
            return
        digest = known_input.digester(
            self.importer.name, self.importer.mapping_version, known_documents.context(root, self.policy)
        )
        pending: list[tuple[bytes, bytes | None]] = []  # (bytes before, a cut document or None)
        pending_bytes = 0
        yield buffer[: root.end]  # the prolog and the root's start tag
        buffer, pos, want = buffer[root.end :], 0, 0
        while True:
            status = "more"
            if eof or len(buffer) >= want:
                documents, stop, status = known_documents.cut_content(buffer, pos, root, eof)
                for start, end in documents:
                    if end - start > limit:  # however it was read: one rule for every file
                        stop, status = start, "doubt"
                        break
                    pending.append((buffer[pos:start], buffer[start:end]))
                    pending_bytes += end - start
                    pos = end
                pending.append((buffer[pos:stop], None))
                buffer, pos = buffer[stop:], 0
                want = 2 * len(buffer)
            if status != "more" or len(buffer) > limit or eof:
                break  # the root's end, a doubt, an item too large, or the file ended inside one
            if len(pending) >= known_input.CHUNK_RECORDS or pending_bytes >= limit:
                yield from self._flush(pending, digest)
                pending, pending_bytes = [], 0
            more = next(chunks, None)
            if more is None:
                eof = True
            else:
                buffer += more
        yield from self._flush(pending, digest)
        yield buffer
        yield from chunks

    def _flush(
        self, pending: list[tuple[bytes, bytes | None]], digest: Callable[[bytes], bytes]
    ) -> Iterator[bytes]:
        digests = [None if document is None else digest(document) for _, document in pending]
        hits = self.lookup.lookup([d for d in digests if d is not None])
        for (before, document), key in zip(pending, digests, strict=True):
            yield before
            if document is None or key is None:
                continue
            self._cut_count += 1
            hit = hits.get(key)
            # a known document whose note does not name each of its items (never so) is parsed
            replayed = None if hit is None or not hit.note else known_documents.replay(hit.note)
            if hit is not None and replayed is not None and len(replayed[2]) == hit.count:
                self.known[self._cut_count] = (hit, replayed)
                self._order.append(self._cut_count)
                yield known_documents.blank(document)
            else:
                self.digests[self._cut_count] = key
                self._fed.append(self._cut_count)
                self._fed_count += 1
                yield document

    def known_before(self, index: int | None) -> Iterator[tuple[int, tuple[Known, known_documents.Replay]]]:
        """The known documents before the file's document ``index`` (None: all the rest), in order."""
        while self._order and (index is None or self._order[0] < index):
            n = self._order.popleft()
            yield n, self.known.pop(n)


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _warning(code: str, message: str) -> Item:
    from register.records import BatchWarning

    return BatchWarning(code=code, message=message, record="file")
