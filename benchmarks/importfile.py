"""One delivery imported through ``run_import`` in a process of its own, so that its memory can be
measured alone: ``python -m benchmarks.importfile PATH SECTOR PROVIDER_ORGNR CONTENT_TYPE``.

The database comes from ``REGISTER_DATABASE_URL``. Prints one JSON line: the batch status, the counts,
the seconds and the process's own peak RSS (``peak_rss_mb``, see ``own_peak_rss_mb``).
"""

from __future__ import annotations

import json
import resource
import sys
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
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    # No /proc (not Linux): ru_maxrss, in bytes on macOS, where no pre-exec mark is carried over.
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(maxrss / (2**20 if sys.platform == "darwin" else 1024), 1)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(
            "usage: python -m benchmarks.importfile PATH SECTOR PROVIDER_ORGNR CONTENT_TYPE", file=sys.stderr
        )
        return 2
    path, sector, provider, content_type = argv
    settings = get_settings()
    engine = make_engine(libpq_url(settings), pool_size=2)
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
    engine.dispose()
    print(
        json.dumps(
            {
                "status": report.status,
                "accepted": report.accepted,
                "unchanged": report.unchanged,
                "rejected": report.rejected,
                "first_errors": [e.code for e in report.errors[:5]],
                "seconds": round(seconds, 3),
                "peak_rss_mb": own_peak_rss_mb(),
                # For comparison only: at least the parent's memory at the spawn (see own_peak_rss_mb).
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )
    return 0 if report.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
