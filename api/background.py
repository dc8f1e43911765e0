"""Work the server does on a timer, beside the requests.

``StatsRefresher``: with ``REGISTER_STATS_REFRESH=background`` imports only mark their persons pending,
and this thread counts them in the analysts' roll-ups every ``REGISTER_STATS_REFRESH_SECONDS``. Every
worker process runs one; they take turns through the refresh's lock without waiting for it (a worker
that finds it held skips the tick), so several workers never queue up behind each other.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from register import stats

log = logging.getLogger(__name__)


class StatsRefresher:
    def __init__(self, engine: Engine, interval_seconds: float) -> None:
        self._engine = engine
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stats-refresher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                report = stats.refresh_pending(self._engine, wait=False)
            except Exception:
                # The database may be away for a while; the persons stay pending until it is back.
                log.exception("statistics refresh failed; trying again in %.0f s", self._interval)
                continue
            if report.persons:
                log.info("statistics refreshed: %d persons in %d transactions", report.persons, report.rounds)
