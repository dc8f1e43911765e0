"""XML namespaces that the register both reads and writes, each spelled once.

ELMO is read by the higher-education importer (``importers.higher.elmo``), written by the export
(``register.exports.elmo``) and by the demo's generator: three copies of the string had to agree.
"""

from __future__ import annotations

ELMO_NS = "https://github.com/emrex-eu/elmo-schemas/tree/v1"  # ELMO 1.x, the EMREX schemas' namespace
