"""OOTS: the connector's interface (``query``) and the citizen's preview pages (``preview``)."""
