"""ELMO (EMREX) import: read what FS and other EMREX data providers send."""

from importers.higher.elmo.importer import SIGNED_DOCUMENT_LIMIT, ElmoImporter
from importers.higher.elmo.reader import DSIG_NS, ELMO_NS, LEGACY_NS

__all__ = ["DSIG_NS", "ELMO_NS", "LEGACY_NS", "SIGNED_DOCUMENT_LIMIT", "ElmoImporter"]
