"""Importers for the primary sector."""

from importers.base import Importer

IMPORTERS: list[Importer] = []
