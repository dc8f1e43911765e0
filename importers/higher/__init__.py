"""Importers for the higher sector."""

from importers.base import Importer

IMPORTERS: list[Importer] = []
