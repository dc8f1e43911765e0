"""A large ELMO batch's documents read in worker processes while the batch streams on.

The documents of a batch file are independent: what the importer makes of one ``elmo`` element is
computed from its subtree alone, read under the XML declaration and the root's start tag; across
documents the reader shares only the per-code warning counts (``known_documents``, the soundness
argument). So where the byte scan that finds known documents (``importer._Resend``) cuts a document
that is not known, a worker process may read it instead of the importer's own parser. A worker reads
its documents with the importer's own reader (``ElmoImporter._read``), in a file of their own: the
declaration and root start tag as the batch writes them, each document where it stands in the batch
(blank lines and spaces before it: ``padding``), and the root's end tag — so the reader's messages,
positions included, are a full read's. Its warnings come back as they were added (``RecordedWarnings``),
in order with the records; the importer yields each document's items in the file's order and adds its
warnings to its own count as a full read would, so the batch says exactly what a full read says,
while the next documents are being read.

Only a batch the importer streams (over ``SIGNED_DOCUMENT_LIMIT``, whose signature is never verified)
is read so, with ``REGISTER_IMPORT_PARSE_WORKERS`` workers (0: never). Work and memory: a task holds at
most ``TASK_BYTES`` of documents, and at most ``TASKS_PER_WORKER`` tasks a worker are in flight
(handed out, or read and not yet yielded): the importer waits for the oldest before it hands out more.
"""

from __future__ import annotations

import collections
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from importers.base import UnusableInput
from importers.higher.elmo.elements import Warnings
from register.ingest.known_input import SpanEnd
from register.records import AchievementRecord, RecordError

#: documents' bytes in one task: some 18 transcripts, 300 records (the benchmark's), 0.06 s of a worker's time
TASK_BYTES = 256 * 1024
#: tasks a worker may have in flight (handed out, or read and waiting to be yielded)
TASKS_PER_WORKER = 8


# Where a document stands in the batch: (line breaks, characters since the last one) in what the
# importer's parser was fed after the root's start tag.
Position = tuple[int, int]


def advance(position: Position, fed: bytes) -> Position:
    """The position after ``fed`` (characters as ``known_documents.blank`` counts them)."""
    breaks = fed.count(b"\n")
    if breaks:
        return position[0] + breaks, len(fed[fed.rfind(b"\n") + 1 :].decode("utf-8", errors="replace"))
    return position[0], position[1] + len(fed.decode("utf-8", errors="replace"))


def padding(start: Position, end: Position) -> bytes:
    """Blank lines and spaces from ``start`` to ``end``, so that what follows stands where it does."""
    if end[0] > start[0]:
        return b"\n" * (end[0] - start[0]) + b" " * end[1]
    return b" " * (end[1] - start[1])


@dataclass(frozen=True, slots=True)
class WarningAdded:
    """A warning the reader added (``Warnings.add``), to be added in the importer's count."""

    code: str
    message: str
    record: str | None
    path: str | None


@dataclass(frozen=True, slots=True)
class Drained:
    """The reader drained its warnings here (``Warnings.drain``): the listed ones are yielded now."""


Op = AchievementRecord | RecordError | WarningAdded | Drained


class RecordedWarnings(Warnings):
    """A worker's warnings: every one recorded in order with the items, counted by the importer."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[Op] = []

    def add(self, code: str, message: str, record: str | None = None, path: str | None = None) -> None:
        self.counts[code] = self.counts.get(code, 0) + 1  # the reader's "was this document quiet"
        self.ops.append(WarningAdded(code, message, record, path))

    def drain(self) -> Iterator[Any]:
        self.ops.append(Drained())
        return iter(())

    def summary(self) -> Iterator[Any]:
        return iter(())  # the importer's own count says it, at the end of the batch


@dataclass(frozen=True, slots=True)
class Work:
    """A task: documents of one batch, with what they are read under."""

    header: bytes  # the batch up to the end of the root's start tag
    closing: bytes  # the root's end tag
    documents: list[tuple[int, bytes, bytes]]  # (file index, padding before it, the document)
    sector: str
    max_depth: int
    signed_limit: int


@dataclass(frozen=True, slots=True)
class DocumentRead:
    """What one document made: its items and warnings in order, and the reader's end of its span."""

    ops: list[Op]
    end: SpanEnd


@dataclass(frozen=True, slots=True)
class Done:
    """A task's documents read, up to the first that made the file unusable (``failure``: its code
    and message), and the batch details they add (learners, reports, records, versions, signature)."""

    documents: list[DocumentRead]
    failure: tuple[str, str] | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Taken:
    """A document read elsewhere, as the importer yields it: its digest, its read, and with the first
    document of a task the task's details."""

    digest: bytes
    read: DocumentRead
    details: dict[str, Any] | None


@dataclass(slots=True)
class Task:
    """Documents handed to a worker; taken back one by one, in order."""

    indexes: list[int]
    future: Future[Done] | None = None
    taken: int = 0

    def take(self) -> tuple[DocumentRead, dict[str, Any] | None]:
        """The next document's read (waiting for it), and the task's details with its first."""
        assert self.future is not None
        done = self.future.result()
        if self.taken == len(done.documents):
            assert done.failure is not None
            raise UnusableInput(*done.failure)
        read = done.documents[self.taken]
        self.taken += 1
        return read, done.details if self.taken == 1 else None

    @property
    def finished(self) -> bool:
        return self.taken == len(self.indexes)


@dataclass(slots=True)
class Readers:
    """The worker processes of one import, and the documents handed to them."""

    workers: int
    read: Callable[[Work], Done]  # the worker's entry point (importer.read_elsewhere)
    header: bytes
    closing: bytes
    sector: str
    max_depth: int
    signed_limit: int
    pool: ProcessPoolExecutor = field(init=False)
    # tasks handed out and not yet yielded in full, oldest first; the one being filled
    backlog: collections.deque[Task] = field(default_factory=collections.deque)
    _filling: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    _filling_task: Task | None = None
    _bytes: int = 0
    _end: Position = (0, 0)

    def __post_init__(self) -> None:
        # spawn: a fresh interpreter, never a fork of a process whose other threads hold locks
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def add(self, index: int, start: Position, document: bytes, end: Position) -> Task:
        """Hand out the document ``index`` (at ``start`` in the batch, ending at ``end``); the task it
        is in. A task is sent when full (``send`` sends the last one)."""
        if self._filling_task is None:
            self._filling_task = Task([])
        task = self._filling_task
        self._filling.append((index, padding(self._end if self._filling else (0, 0), start), document))
        task.indexes.append(index)
        self._end = end
        self._bytes += len(document)
        if self._bytes >= TASK_BYTES:
            self.send()
        return task

    def send(self) -> None:
        """Send the task being filled, if any."""
        task = self._filling_task
        if task is None:
            return
        work = Work(self.header, self.closing, self._filling, self.sector, self.max_depth, self.signed_limit)
        task.future = self.pool.submit(self.read, work)
        self.backlog.append(task)
        self._filling, self._filling_task, self._bytes = [], None, 0

    def full(self) -> bool:
        return len(self.backlog) >= self.workers * TASKS_PER_WORKER

    def wait_oldest(self) -> None:
        future = self.backlog[0].future
        assert future is not None
        future.exception()  # waits; a failure is raised where its document is yielded

    def yielded(self, task: Task) -> None:
        """``task``'s documents are all yielded: out of the backlog."""
        if self.backlog and self.backlog[0] is task:
            self.backlog.popleft()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
