"""Work the server does on a timer, beside the requests.

``StatsRefresher``: with ``REGISTER_STATS_REFRESH=background`` imports only mark their persons pending,
and this thread counts them in the analysts' roll-ups every ``REGISTER_STATS_REFRESH_SECONDS``. Every
worker process runs one; they take turns through the refresh's lock without waiting for it (a worker
that finds it held skips the tick), so several workers never queue up behind each other.

``AuditCheckpointWriter``: with ``REGISTER_AUDIT_CHECKPOINT_DIR`` set, signs the heads of every audit
chain every ``REGISTER_AUDIT_CHECKPOINT_INTERVAL_SECONDS`` (register.audit_checkpoints). Every worker
runs one; a worker skips its tick while another writes, or when the newest checkpoint is younger than
half the interval, so the workers together write about one per interval.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from register import stats
from register.audit_checkpoints import CheckpointError, write_checkpoint
from register.settings import Settings

log = logging.getLogger(__name__)


class _Periodic:
    """A daemon thread that calls ``tick`` every ``interval`` seconds until the lifespan stops it."""

    name = "periodic"

    def __init__(self, interval_seconds: float) -> None:
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.tick()

    def tick(self) -> None:
        raise NotImplementedError


class StatsRefresher(_Periodic):
    name = "stats-refresher"

    def __init__(self, engine: Engine, interval_seconds: float) -> None:
        super().__init__(interval_seconds)
        self._engine = engine

    def tick(self) -> None:
        try:
            report = stats.refresh_pending(self._engine, wait=False)
        except Exception:
            # The database may be away for a while; the persons stay pending until it is back.
            log.exception("statistics refresh failed; trying again in %.0f s", self._interval)
            return
        if report.persons:
            log.info("statistics refreshed: %d persons in %d transactions", report.persons, report.rounds)


class AuditCheckpointWriter(_Periodic):
    name = "audit-checkpoints"

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__(settings.audit_checkpoint_interval_seconds)
        self._engine = engine
        self._settings = settings

    def tick(self) -> None:
        try:
            with self._engine.begin() as conn:
                written = write_checkpoint(
                    conn, self._settings, wait=False, min_age_seconds=self._interval / 2
                )
        except CheckpointError as exc:
            # Refused (the trail no longer holds the last checkpoint's heads) or the directory or key is
            # unusable: an operator must look; each tick says it again until then.
            log.error("audit checkpoint not written: %s [%s]", exc.message, exc.code)
            return
        except Exception:
            log.exception("audit checkpoint failed; trying again in %.0f s", self._interval)
            return
        if written is not None:
            log.info("audit checkpoint %d written: %s", written.seq, written.name)
