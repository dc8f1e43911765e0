"""One delivery imported through ``run_import`` in a process of its own, so that its memory can be
measured alone: ``python -m benchmarks.importfile PATH SECTOR PROVIDER_ORGNR CONTENT_TYPE``.

The database comes from ``REGISTER_DATABASE_URL``. Prints one JSON line: the batch status, the counts,
the seconds and the import's peak RSS (``peak_rss_mb``): the process's own (``own_peak_rss_mb``) and
its worker processes' (``ChildrenPeak``).
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from pathlib import Path

from intake.batches import run_import
from register.database import libpq_url, make_engine
from register.settings import get_settings


def own_peak_rss_mb(status: Path = Path("/proc/self/status")) -> float:
    """This process's peak resident memory since it started this program, in MB (``VmHWM``).

    Not ``ru_maxrss`` (``getrusage``, or ``wait4`` in the parent): Linux carries into it the high-water
    mark of the memory the process had before ``exec`` — the copy of its parent's, whether forked or
    vforked (fs/exec.c, ``exec_mmap``). The benchmark's parent holds the population it built, so the
    import's "peak" was the parent's: 199 MB in a fresh register, 331 MB after loading 0.9 M
    achievements, 509 MB after 29 M, while the import itself stayed near 160 MB in both registers
    (docs/performance.md, "Memory of a big ELMO import"). ``VmHWM`` belongs to the memory ``exec`` made.
    """
    peak = peak_rss_mb_of(status)
    if peak is not None:
        return peak
    # No /proc (not Linux): ru_maxrss, in bytes on macOS, where no pre-exec mark is carried over.
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(maxrss / (2**20 if sys.platform == "darwin" else 1024), 1)


def peak_rss_mb_of(status: Path) -> float | None:
    """A process's peak resident memory in MB (``VmHWM`` in its ``/proc/…/status``); None where unknown."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    return None


class ChildrenPeak(threading.Thread):
    """The peak resident memory of this process's children (the ELMO importer's worker processes,
    importers/higher/elmo/parallel.py), each child's own ``VmHWM`` read every ``interval`` seconds
    while it lives; ``stop`` returns the children's peaks summed (an upper bound of their peak together)."""

    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peaks: dict[int, float] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            for pid in _children():
                peak = peak_rss_mb_of(Path(f"/proc/{pid}/status"))
                if peak is not None:
                    self.peaks[pid] = max(peak, self.peaks.get(pid, 0.0))

    def stop(self) -> float:
        self._done.set()
        self.join()
        return round(sum(self.peaks.values()), 1)


def _children() -> list[int]:
    """This process's children (all its threads'), where Linux says (``/proc/…/children``)."""
    pids: list[int] = []
    for children in Path("/proc/self/task").glob("*/children"):
        try:
            pids.extend(int(pid) for pid in children.read_text().split())
        except OSError:
            continue
    return pids


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(
            "usage: python -m benchmarks.importfile PATH SECTOR PROVIDER_ORGNR CONTENT_TYPE", file=sys.stderr
        )
        return 2
    path, sector, provider, content_type = argv
    settings = get_settings()
    engine = make_engine(libpq_url(settings), pool_size=2)
    children = ChildrenPeak()
    children.start()
    started = time.perf_counter()
    with Path(path).open("rb") as source:
        report = run_import(
            engine,
            source,
            sector=sector,
            provider_orgnr=provider,
            filename=Path(path).name,
            content_type=content_type,
            submitted_by="benchmark",
            settings=settings,
        )
    seconds = time.perf_counter() - started
    workers_peak = children.stop()
    engine.dispose()
    own_peak = own_peak_rss_mb()
    print(
        json.dumps(
            {
                "status": report.status,
                "accepted": report.accepted,
                "unchanged": report.unchanged,
                "rejected": report.rejected,
                "first_errors": [e.code for e in report.errors[:5]],
                "seconds": round(seconds, 3),
                # the import's memory: its own and its worker processes' (each one's peak, summed)
                "peak_rss_mb": round(own_peak + workers_peak, 1),
                "own_peak_rss_mb": own_peak,
                "workers_peak_rss_mb": workers_peak,
                "workers": len(children.peaks),
                # For comparison only: at least the parent's memory at the spawn (see own_peak_rss_mb).
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )
    return 0 if report.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
