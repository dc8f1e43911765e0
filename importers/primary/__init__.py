"""Importers for the primary sector: the register's CSV and JSON row formats (docs/formats/primary.md)."""

from importers.base import Importer
from importers.primary.rows import PrimaryCsvImporter, PrimaryJsonImporter

IMPORTERS: list[Importer] = [PrimaryCsvImporter(), PrimaryJsonImporter()]
