"""The ELMO importer: EMREX transcripts from FS (universities, university colleges and fagskoler)."""

from __future__ import annotations

import collections
import zlib
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import BinaryIO, ClassVar

from importers.base import ImportContext, Item, UnusableInput
from importers.higher.elmo import known_documents, parallel
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
from register.records import AchievementRecord, RecordError
from register.sectors import Sector
from register.settings import Settings

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
            resend = _Resend(
                self, context.known, self._policy(context, checked=False), context=context,
                workers=context.settings.import_parse_workers,
            )  # fmt: skip
            stream = resend.pieces(stream)
        try:
            yield from self._read(stream, context, signature_checked=False, resend=resend)
        finally:
            if resend is not None:
                resend.close()

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
        resend: _Resend | _Spans | None = None,
        warnings: Warnings | None = None,
        signed_limit: int | None = None,
    ) -> Iterator[Item]:
        """The items of the file's documents in order. ``resend``: the documents cut out of the file,
        known or read elsewhere (``_Resend``), or each document's items between its span's start and
        end (``_Spans``, a worker's). ``warnings``: a worker's, recorded (``parallel``)."""
        warnings = Warnings() if warnings is None else warnings
        signed_limit = SIGNED_DOCUMENT_LIMIT if signed_limit is None else signed_limit
        versions: dict[str, int] = {}
        learners = reports = records = 0
        learner: Learner | None = None
        pending: list[PendingRecord] = []
        global_attachments: dict = {}
        report_index = 0

        def skipped(upto: int | None, *, wait: bool = True) -> Iterator[Item]:
            """The documents cut out before ``upto``: a known one's items unchanged and its details
            replayed; one read elsewhere, its items and warnings as it made them."""
            nonlocal learners, reports, records
            assert resend is not None
            for index, entry in resend.before(upto, wait=wait):
                if not isinstance(entry, parallel.Taken):
                    hit, (reports_of, version, refs) = entry
                    learners, reports, records = learners + 1, reports + reports_of, records + len(refs)
                    if version is not None:
                        versions[version] = versions.get(version, 0) + 1
                    prefix = f"elmo[{index}]/"
                    yield KnownSpan(f"elmo[{index}]", hit, tuple(prefix + ref for ref in refs))
                    continue
                details = entry.details
                if details is not None:  # a task's share of the batch details, with its first document
                    learners += details["learners"]
                    reports += details["reports"]
                    records += details["records"]
                    for version, count in details["elmo_versions"].items():
                        versions[version] = versions.get(version, 0) + count
                    if details.get("signature", {}).get("status") == "not_verified":
                        context.facts.details["signature"] = details["signature"]
                yield SpanStart(entry.digest)
                for op in entry.read.ops:
                    if isinstance(op, parallel.WarningAdded):
                        warnings.add(op.code, op.message, op.record, op.path)
                    elif isinstance(op, parallel.Drained):
                        yield from warnings.drain()
                    else:
                        yield op
                yield entry.read.end

        index_of = None if resend is None else resend.index_of
        ticks = isinstance(resend, _Resend) and resend.workers > 0
        in_span = False
        span_warnings = 0
        span_refs: list[str] = []
        for event in iter_events(chunks, max_depth=context.max_xml_depth, index_of=index_of, ticks=ticks):
            where = f"elmo[{event.elmo_index}]"
            if event.kind == "fed":
                # a turn while the parser is fed what holds no document: what is read elsewhere and fed
                assert isinstance(resend, _Resend)
                yield from skipped(resend.fed_through + 1, wait=False)
            elif event.kind == "elmo_start":
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
                    "reason": f"documents over {signed_limit} bytes are not verified",
                }
                warnings.add(
                    "elmo.signature_not_verified",
                    f"the document is signed but larger than {signed_limit} bytes; the signature was"
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
    """A batch cut by ``known_documents`` as it streams: which documents are known, which are read by
    worker processes (``parallel``, where ``workers``), and the rest of the file to parse. Buffers at
    most ``CHUNK_BYTES`` of an unfinished item and ``CHUNK_BYTES`` of cut documents awaiting their
    lookup; a document larger than that stops the cutting (the rest is parsed)."""

    def __init__(
        self,
        importer: ElmoImporter,
        known: KnownInputs,
        policy: list[object],
        *,
        context: ImportContext | None = None,
        workers: int = 0,
    ) -> None:
        self.importer, self.lookup, self.policy = importer, known, policy
        self.context, self.workers = context, workers
        self.readers: parallel.Readers | None = None  # once the root is found, where workers
        # file index → what it made and its note read (reports, ELMO version, references), until replayed
        self.known: dict[int, tuple[Known, known_documents.Replay]] = {}
        # file index → its digest and the task reading it elsewhere, until yielded
        self.elsewhere: dict[int, tuple[bytes, parallel.Task]] = {}
        self.digests: dict[int, bytes] = {}  # file index → digest of a cut document fed to the parser
        self._fed: collections.deque[int] = collections.deque()  # their file indexes, in order
        self._fed_count = self._cut_count = 0
        self._order: collections.deque[int] = collections.deque()
        #: the cut documents up to this file index are fed to the parser (as themselves or blank)
        self.fed_through = 0
        self._at: parallel.Position = (0, 0)  # where the parser is, after the root's start tag

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
        if self.workers > 0 and self.context is not None:
            self.readers = parallel.Readers(
                self.workers, read_elsewhere, buffer[: root.end], b"</" + root.name + b">",
                self.context.sector.value, self.context.max_xml_depth, SIGNED_DOCUMENT_LIMIT,
            )  # fmt: skip
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
        readers = self.readers
        for (before, document), key in zip(pending, digests, strict=True):
            yield before
            self._at = parallel.advance(self._at, before)
            if document is None or key is None:
                continue
            self._cut_count += 1
            hit = hits.get(key)
            # a known document whose note does not name each of its items (never so) is parsed
            replayed = None if hit is None or not hit.note else known_documents.replay(hit.note)
            if hit is not None and replayed is not None and len(replayed[2]) == hit.count:
                self.known[self._cut_count] = (hit, replayed)
                self._order.append(self._cut_count)
                fed = known_documents.blank(document)
            elif readers is not None:
                while readers.full():  # no more in flight: the oldest task read and yielded first
                    waiting = len(readers.backlog)
                    readers.wait_oldest()
                    yield b""  # the parser's turn (iter_events' ticks): the read documents are yielded
                    if len(readers.backlog) == waiting:
                        break  # not yielded (not fed yet): never wait for oneself
                fed = known_documents.blank(document)
                end = parallel.advance(self._at, fed)
                task = readers.add(self._cut_count, self._at, document, end)
                self.elsewhere[self._cut_count] = (key, task)
                self._order.append(self._cut_count)
            else:
                self.digests[self._cut_count] = key
                self._fed.append(self._cut_count)
                self._fed_count += 1
                fed = document
            yield fed
            self._at = parallel.advance(self._at, fed)
            self.fed_through = self._cut_count
        if readers is not None:
            readers.send()

    def before(self, index: int | None, *, wait: bool = True) -> Iterator[tuple[int, _CutOut]]:
        """The documents cut out before the file's document ``index`` (None: all the rest), in order:
        a known one's hit and note read, or a digest, the read of a document read elsewhere and, with
        the first of its task, the task's details. ``wait`` False: only up to the first still being read."""
        while self._order and (index is None or self._order[0] < index):
            n = self._order[0]
            if n in self.known:
                self._order.popleft()
                yield n, self.known.pop(n)
                continue
            key, task = self.elsewhere[n]
            if not wait and (task.future is None or not task.future.done()):
                return
            read, details = task.take()
            self._order.popleft()
            del self.elsewhere[n]
            if task.finished:
                assert self.readers is not None
                self.readers.yielded(task)
            yield n, parallel.Taken(key, read, details)

    def close(self) -> None:
        """Stop the workers, if any (waiting for the tasks they are reading)."""
        if self.readers is not None:
            self.readers.close()


#: a document cut out of the file: known (its hit and note read), or read elsewhere
_CutOut = tuple[Known, known_documents.Replay] | parallel.Taken


class _Spans:
    """A worker's documents (``read_elsewhere``): the file index of each, and each in a span of its own
    (its digest is the importer's, so none here), so that the reader ends each with its note."""

    def __init__(self, indexes: list[int]) -> None:
        self.indexes = indexes
        self.digests = {index: b"" for index in indexes}

    def index_of(self, n: int) -> int:
        return self.indexes[n - 1]

    def before(self, index: int | None, *, wait: bool = True) -> Iterator[tuple[int, _CutOut]]:
        return iter(())


def read_elsewhere(work: parallel.Work) -> parallel.Done:
    """In a worker process: ``work``'s documents read as the importer reads them, each document's items
    and warnings in the order they were made (``parallel``)."""
    # the reader reads only its limits, sent with the task (not the worker's environment)
    settings = Settings.model_construct(max_xml_depth=work.max_depth)
    context = ImportContext(sector=Sector(work.sector), provider_orgnr="", settings=settings)
    warnings = parallel.RecordedWarnings()
    data = work.header + b"".join(pad + document for _, pad, document in work.documents) + work.closing
    documents: list[parallel.DocumentRead] = []
    failure = None
    items = ElmoImporter()._read(
        iter([data]), context, signature_checked=False, resend=_Spans([i for i, _, _ in work.documents]),
        warnings=warnings, signed_limit=work.signed_limit,
    )  # fmt: skip
    try:
        for item in items:
            if isinstance(item, SpanStart):
                warnings.ops = []
            elif isinstance(item, SpanEnd):
                documents.append(parallel.DocumentRead(warnings.ops, item))
                warnings.ops = []
            elif isinstance(item, AchievementRecord | RecordError):
                warnings.ops.append(item)
    except UnusableInput as exc:
        failure = (exc.code, exc.message)
    return parallel.Done(documents, failure, dict(context.facts.details))


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _warning(code: str, message: str) -> Item:
    from register.records import BatchWarning

    return BatchWarning(code=code, message=message, record="file")
