"""Exports: a person's results in exchange formats (ELMO for Vitnemålsportalen and EMREX).

``person_elmo`` is the one entry point for a reader that gives ELMO out (the API, the citizen's pages):
the person's selected results, signed.
"""

from register.exports.elmo import ElmoExport, person_elmo

__all__ = ["ElmoExport", "person_elmo"]
