"""Importers for the vocational sector: the register's CSV and JSON row formats for fagskoler
(docs/formats/vocational.md). ELMO from fagskoler is read by the higher-education ELMO importer,
which lists the vocational sector among its own."""

from importers.base import Importer
from importers.vocational.rows import VocationalCsvImporter, VocationalJsonImporter

IMPORTERS: list[Importer] = [VocationalCsvImporter(), VocationalJsonImporter()]
