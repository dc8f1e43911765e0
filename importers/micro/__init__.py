"""Importers for the micro sector."""

from importers.base import Importer

IMPORTERS: list[Importer] = []
