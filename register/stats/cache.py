"""Answers cached until the roll-ups change: the statistics version and a bounded LRU keyed by request."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy import Connection, text

V = TypeVar("V")


def statistics_version(connection: Connection) -> str:
    """Changes whenever the roll-ups do: the refresh count and the time of the last refresh.

    The time makes it unique even where the count starts again (a database emptied and filled anew).
    """
    row = connection.execute(text("SELECT version, refreshed_at FROM stats_state")).one_or_none()
    if row is None or row.refreshed_at is None:
        return "0"
    return f"{row.version}@{row.refreshed_at.isoformat()}"


def cached_answer(
    connection: Connection, cache: VersionedCache[V], key: Hashable, compute: Callable[[], V]
) -> V:
    """The answer for ``key`` from ``cache`` if the roll-ups have not changed since, else ``compute()``d.

    Run it in a REPEATABLE READ transaction, so that the version and what ``compute`` reads are one
    snapshot (a refresh committing in between cannot file new cells under the old version).
    """
    version = statistics_version(connection)
    answer = cache.get(key, version)
    if answer is None:
        answer = compute()
        cache.put(key, version, answer)
    return answer


class VersionedCache(Generic[V]):
    """Answers keyed by request, valid for one statistics version; least recently used go first.

    Bounded by ``max_weight`` (the caller says what a value weighs, e.g. its bytes), so a burst of
    large tables cannot grow the process. Thread-safe: the API answers from a thread pool.
    """

    def __init__(self, max_weight: int, weigh: Callable[[V], int]) -> None:
        self._max_weight = max_weight
        self._weigh = weigh
        self._entries: OrderedDict[Hashable, tuple[str, V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: str) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, version: str, value: V) -> None:
        weight = self._weigh(value)
        if weight > self._max_weight:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[2]
            self._entries[key] = (version, value, weight)
            self._weight += weight
            while self._weight > self._max_weight:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped
