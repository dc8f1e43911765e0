"""The importer contract.

An importer reads one delivery format. ``identify`` looks at the head of a file and says whether the
file is its format; ``extract`` streams the whole file and yields normalized records, per-record
errors and warnings. It never touches the database: the ingest service checks identities and
organisations and writes. A file that cannot be read at all (not XML, wrong encoding, a bomb) raises
``UnusableInput``; one bad record yields a ``RecordError`` and the next record is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar, Protocol, runtime_checkable

from register.ingest.known_input import KnownInputs, SpanItem
from register.records import AchievementRecord, BatchFacts, BatchWarning, RecordError
from register.sectors import Sector
from register.settings import Settings

#: an importer that cuts its file into raw records may also yield ``SpanItem``s: a raw record known
#: from an earlier delivery, or the bounds of one it parsed (register.ingest.known_input)
Item = AchievementRecord | RecordError | BatchWarning | SpanItem

HEAD_BYTES = 64 * 1024


class UnusableInput(Exception):
    """The whole file is unusable (exit code 2, HTTP 422): nothing of it is imported."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class ImportContext:
    """What an importer may know about the delivery it reads."""

    sector: Sector
    provider_orgnr: str
    filename: str | None = None
    content_type: str | None = None
    facts: BatchFacts = field(default_factory=BatchFacts)
    #: the settings of this import: the one way an importer gets its options (never the environment,
    #: never a second parameter beside them); the limits every importer shares are named below
    settings: Settings = field(default_factory=Settings)
    #: the provider's raw records delivered before, where the import offers them (not in tests that
    #: call ``extract`` alone): an importer that can cut its raw records may skip the known ones
    known: KnownInputs | None = None

    @property
    def max_bytes(self) -> int:
        """The delivery's size limit (``REGISTER_MAX_UPLOAD_BYTES``), decompressed size included."""
        return self.settings.max_upload_bytes

    @property
    def max_xml_depth(self) -> int:
        """The nesting limit of XML and JSON documents (``REGISTER_MAX_XML_DEPTH``)."""
        return self.settings.max_xml_depth

    @property
    def require_valid_signature(self) -> bool:
        """Refuse an ELMO document without a valid signature (``REGISTER_ELMO_REQUIRE_VALID_SIGNATURE``)."""
        return self.settings.elmo_require_valid_signature


@runtime_checkable
class Importer(Protocol):
    #: a short stable name, stored on the batch as its format ("elmo", "primary-csv", …)
    name: ClassVar[str]
    #: the sectors whose deliveries this importer reads
    sectors: ClassVar[frozenset[Sector]]
    #: record path → what the delivery calls it (a column, an element): the ingest's rejections of a
    #: record name the provider's field, not the register's (``person.identifiers[0]`` → fodselsnummer)
    field_names: ClassVar[Mapping[str, str]]

    def identify(self, head: bytes, filename: str | None, content_type: str | None) -> bool:
        """True if the file that starts with ``head`` (up to HEAD_BYTES) is this importer's format."""
        ...

    def extract(self, source: BinaryIO, context: ImportContext) -> Iterator[Item]:
        """Stream ``source`` and yield records, errors and warnings; raise UnusableInput if unreadable."""
        ...
