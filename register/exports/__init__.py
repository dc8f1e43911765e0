"""Exports: a person's results in exchange formats (ELMO for Vitnemålsportalen and EMREX)."""
