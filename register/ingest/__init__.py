"""The ingest service: the one way records enter the database.

``ingest`` takes the items an importer yields and writes them in the caller's transaction:

1. Each record is checked in Python where the check needs no database (national id check digits,
   grade on its scale, organisation known and delivered for) — cheap, and the error names the record
   (``checks``).
2. The good records are streamed with COPY into temporary staging tables, in chunks (bounded memory)
   (``staging``).
3. Everything else is set-based SQL over the staging tables: duplicate keys in the batch, persons
   found or created by identifier, specifications shared by content, parents resolved, and then one
   INSERT for new achievements and one UPDATE for changed ones, with the superseded versions copied
   to ``achievement_version`` first (``write``). An identical re-send matches every content hash and
   writes nothing.

Bulk on purpose: a row-by-row ORM loop costs a round trip per record; COPY plus a handful of
statements costs the same few round trips for ten rows or ten million.

The caller owns the transaction (see ``intake.batches``): if anything raises, nothing of the batch
is written. ``service`` runs the three stages; ``result`` holds the report and the rejections.
"""

from register.ingest.checks import OrganisationIndex, normalize_code
from register.ingest.result import IngestResult
from register.ingest.service import ingest

__all__ = ["IngestResult", "OrganisationIndex", "ingest", "normalize_code"]
