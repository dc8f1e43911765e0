"""XML namespaces that the register both reads and writes, each spelled once.

ELMO is read by the higher-education importer (``importers.higher.elmo``), written by the export
(``register.exports.elmo``) and by the demo's generator: three copies of the string had to agree.
"""

from __future__ import annotations

ELMO_NS = "https://github.com/emrex-eu/elmo-schemas/tree/v1"  # ELMO 1.x, the EMREX schemas' namespace

# OOTS Evidence Exchange Data Model (register.oots): OASIS ebXML RegRep 4.0 and the SDG profile.
RIM_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:4.0"
QUERY_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:query:4.0"
RS_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:4.0"
SDG_NS = "http://data.europa.eu/p4s"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
