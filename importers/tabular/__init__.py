"""Streaming reading of the register's own tabular delivery formats: CSV and JSON.

The ``primary`` and ``vocational`` sectors deliver rows (one result per row) as

- CSV: UTF-8 (a byte order mark is tolerated), ``;`` as separator (what Norwegian spreadsheets
  export), a header row naming the columns;
- JSON: an array of flat row objects, or JSON Lines (one row object per line).

Both are read incrementally with bounded memory: a file is never held whole, a line or a JSON element
larger than ``MAX_RECORD_BYTES`` stops the import instead of growing a buffer, and JSON nesting
deeper than ``MAX_DEPTH`` is refused before it is parsed. What makes a whole file unreadable (wrong
encoding, NUL bytes, the wrong separator, a missing column, broken JSON structure) raises
``UnusableInput``; what is wrong with one row (a ragged row, a duplicate key, a nested value) is a
``RecordError`` for that row, and the next row is read.

Rows are numbered from 1 in both formats, not counting the CSV header: "row 3" is the third data row
(line 4 of a CSV file without line breaks inside fields).

The modules: ``core`` (columns, rows, encoding, lines), ``csv_reader``, ``json_reader``, ``fields``
(values in rows) and ``importer`` (the base class of the row importers).
"""

from importers.tabular.core import (
    MAX_DEPTH,
    MAX_RECORD_BYTES,
    Column,
    Row,
    RowRejected,
    TableItem,
    TableKind,
    normalize_name,
    text_column,
)
from importers.tabular.csv_reader import read_csv
from importers.tabular.fields import (
    WITHDRAWAL,
    WITHDRAWAL_COLUMN,
    DocumentMemory,
    code_word,
    date_column,
    nin_column,
    orgnr_column,
    parse_date,
    withdrawal,
)
from importers.tabular.importer import RowImporter
from importers.tabular.json_reader import read_json, read_table

__all__ = [
    "MAX_DEPTH",
    "MAX_RECORD_BYTES",
    "WITHDRAWAL",
    "WITHDRAWAL_COLUMN",
    "Column",
    "DocumentMemory",
    "Row",
    "RowImporter",
    "RowRejected",
    "TableItem",
    "TableKind",
    "code_word",
    "date_column",
    "nin_column",
    "normalize_name",
    "orgnr_column",
    "parse_date",
    "read_csv",
    "read_json",
    "read_table",
    "text_column",
    "withdrawal",
]
