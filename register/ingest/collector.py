"""The garbage collector during an ingest: young generations between chunks, no full passes.

An import allocates a few dozen tracked objects per record (the record, its person, grade and
specification, the staged row), keeps a chunk of them (``chunk_rows``) until the chunk is written,
and lets them go. With the collector left to itself those survivors of a few thousand allocations
reached the oldest generation, and every few chunks a full pass walked the whole process — modules,
the importer's indexes, the person memo — for nothing: 19 full passes in a 113 870-row CSV import,
a fifth of its Python time (docs/performance.md, "The collector during an import").

So the ingest pauses the automatic collector and collects the young generations itself after each
chunk is written: what a chunk left as cyclic garbage is freed then, and what lives on (the memo, the
indexes) is moved out of the young generations once and not walked again by this import. Memory stays
bound by a chunk, as before. The collector is one per process and an API process may run imports side
by side on its import threads: it is paused while any of them runs and resumed when the last ends (as
it was, if it was enabled), so requests in between are collected by the imports' chunk collections.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0  # ingests in this process that have paused the collector
_resume = False  # whether the collector was enabled when the first of them paused it


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the automatic collector for the block (or the decorated call); ``collect_young`` after
    each written chunk."""
    global _running, _resume
    with _lock:
        if _running == 0:
            _resume = gc.isenabled()
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _resume:
                gc.enable()


def collect_young() -> None:
    """Collect the young generations: what a written chunk left as cyclic garbage."""
    gc.collect(1)
