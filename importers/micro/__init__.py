"""Importers for the micro sector: micro-credentials as ELM v3 (Europass) and Open Badges 3.0."""

from importers.base import Importer
from importers.micro.importer import MicroCredentialImporter

IMPORTERS: list[Importer] = [MicroCredentialImporter()]
