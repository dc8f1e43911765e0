"""Importers for the vocational sector."""

from importers.base import Importer

IMPORTERS: list[Importer] = []
