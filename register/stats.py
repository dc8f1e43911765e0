"""Summary tables for analysts, kept current by the ingest service.

The ingest calls ``refresh_after_ingest`` inside the batch's transaction, after writing, so the
aggregates move with the data: a batch and its effect on the statistics commit or roll back together.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection


def refresh_after_ingest(connection: Connection, batch_id: uuid.UUID) -> None:
    """Bring the summary tables up to date with the achievements batch ``batch_id`` wrote.

    The summary tables arrive with the analysts' API (migration 0002); until then there is nothing
    to refresh.
    """
