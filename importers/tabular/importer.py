"""The importer base of the row formats: a subclass names its columns and maps a row to records."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

from importers.base import ImportContext, Item
from importers.tabular import known_rows
from importers.tabular.core import (
    BLANK,
    Column,
    Row,
    RowRejected,
    TableKind,
    head_text,
    header_columns,
    json_head_keys,
    sniff_kind,
    text_column,
)
from importers.tabular.csv_reader import read_csv
from importers.tabular.fields import DocumentMemory
from importers.tabular.json_reader import read_table
from register.ingest import known_input
from register.records import AchievementRecord, RecordError
from register.sectors import Sector

# --- the importer base ------------------------------------------------------------------------------


class RowImporter:
    """An importer for one of the register's row formats, CSV or JSON; subclasses map rows to records.

    ``columns`` is the format: its names, which a CSV header must have, and which are refused (a
    column from another sector's format, such as fagskolepoeng on a school row). ``markers`` are the
    column names that make a file this sector's: ``identify`` looks for one of them in the CSV header
    or among the JSON keys of the file's head.
    """

    name: ClassVar[str]
    sectors: ClassVar[frozenset[Sector]]
    kind: ClassVar[TableKind]
    columns: ClassVar[tuple[Column[Any], ...]]
    refused: ClassVar[dict[str, tuple[str, str]]] = {}  # column → (code, reason)
    markers: ClassVar[frozenset[str]]
    #: record path → the column that fills it (from the columns' ``fills``): the ingest names it
    field_names: ClassVar[Mapping[str, str]] = {}
    #: raised whenever what a row makes changes (its mapping, or a code list it reads): the rows
    #: remembered from earlier deliveries (register.ingest.known_input) are then mapped again
    mapping_version: ClassVar[int] = 1
    #: the column whose one value makes adjacent rows one raw record, remembered and recognised together
    #: (importers.tabular.known_rows): a document's rows; None: each row is one
    raw_record_column: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        columns = cls.__dict__.get("columns")
        if columns is not None:
            cls.field_names = MappingProxyType({path: c.name for c in columns for path in c.fills})

    def identify(self, head: bytes, filename: str | None, content_type: str | None) -> bool:
        text = head_text(head)
        if sniff_kind(text) != self.kind:
            return False
        if self.kind == "csv":
            return bool(self.markers.intersection(header_columns(text)))
        if text.strip(BLANK + "\ufeff") == "[]":
            return True  # an empty delivery; only this sector's JSON reader is asked about it
        return bool(self.markers & json_head_keys(text))

    def extract(self, source: BinaryIO, context: ImportContext) -> Iterator[Item]:
        context.facts.format = self.name
        columns = (*self.columns, *(text_column(name) for name in self.refused))
        # Per file, never on the importer: one instance serves concurrent imports.
        documents = DocumentMemory()
        if self.kind == "csv" and context.known is not None:
            # Rows delivered before by this provider are not mapped again (importers.tabular.known_rows).
            row_digest = functools.partial(known_input.digester, self.name, self.mapping_version)
            rows = read_csv(source, columns, row_digest)
            yield from known_rows.extract(self, rows, documents, context.known)
            return
        for item in read_table(source, self.kind, columns):
            if isinstance(item, Row):
                yield from self.row_items(item, documents)
            else:
                yield item

    def row_items(self, row: Row, documents: DocumentMemory) -> Iterator[Item]:
        """The records one row makes, or its rejection."""
        try:
            for name, (code, reason) in self.refused.items():
                if row.get(name) is not None:
                    raise RowRejected(code, reason, name)
            yield from self.records(row, documents)
        except RowRejected as exc:
            yield RecordError(record=row.ref, code=exc.code, message=exc.message, path=exc.column)

    def records(self, row: Row, documents: DocumentMemory) -> Iterator[AchievementRecord]:
        """The records one row makes (a result, and its document the first time the file names it).

        Raises RowRejected for the first rule the row breaks; a record already yielded for the row
        (its document) stays, since the document is right even if this subject's grade is not.
        """
        raise NotImplementedError
