"""One delivery imported through ``run_import`` in a process of its own, so that its memory can be
measured alone: ``python -m benchmarks.importfile PATH SECTOR PROVIDER_ORGNR CONTENT_TYPE``.

The database comes from ``REGISTER_DATABASE_URL``. Prints one JSON line: the batch status, the counts,
the seconds and the process's own peak RSS (the parent also measures it, with ``wait4``).
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
                # Linux reports ru_maxrss in KiB.
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )
    return 0 if report.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
