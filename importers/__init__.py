"""Importers: one package per sector, each turning a delivery format into normalized records.

The contract is in ``importers.base``; the registry (``intake.registry``) picks the importer for
a file. Sector packages list their importers in ``IMPORTERS``.
"""
