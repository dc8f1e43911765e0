"""Importers for the higher sector (and the vocational sector, where a fagskole delivers through FS)."""

from importers.base import Importer
from importers.higher.elmo import ElmoImporter

IMPORTERS: list[Importer] = [ElmoImporter()]
