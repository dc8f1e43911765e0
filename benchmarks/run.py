"""``python -m benchmarks.run`` (``make bench``): build a synthetic Norway through the real import path
and hold the register to the ceilings PostgreSQL and the server set, in the same run.

1. **Import** — achievements/s of a primary CSV, an ELMO and a micro (ELM) batch, each through
   ``run_import`` into a register already holding the population, against the raw ``COPY`` of the same
   rows into the same ``achievement`` table with all its indexes and constraints (done in a transaction
   that is rolled back). Also the re-send of the same records (a re-export: other bytes, same
   content) and of the byte-identical file. The statistics refresh runs after the import's commit, as
   in the register (register.stats); it is timed on its own and reported beside the import.
2. **Look-up under load** — ``POST /v1/persons/lookup`` for random persons at ``BENCH_CONCURRENCY``
   connections against ``POST /bench/constant/{size}`` on the same server (a constant JSON body of the
   look-up's median size; see benchmarks/app.py).
3. **Aggregates** — ``GET /v1/stats/achievements?group_by=sector,year,field`` p99, idle and while an
   import runs.
4. **Memory** — peak RSS of the process importing an ELMO file of ``BENCH_ELMO_BYTES`` (1 GiB by
   default), measured by ``wait4`` on that subprocess. Benchmark 3 runs during this import.

Scale and knobs come from the environment (see ``BenchConfig.from_env``). The database is a fresh one
on ``BENCH_ADMIN_URL`` (a server you run) or on the embedded development server, dropped at the end
unless ``BENCH_KEEP_DATABASE=1``. Results go to ``benchmarks/results.json`` and stdout as JSON.

Longer than 500 lines on purpose: a benchmark, not part of the register; its four parts share one
database, one server and one population, built once, and read as one script from setup to report.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import io
import json
import multiprocessing
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import Engine, text

from benchmarks.loadgen import Request, generator_name, percentile, run_load
from benchmarks.population import KINDS, DeliveryFile, Population, write_elmo_of_size
from intake.batches import run_import
from register.database import make_engine, to_libpq
from register.organisations import add_organisation
from register.settings import Settings
from register.stats import achievement_stats, parse_group_by, refresh_pending
from register.tokens import issue_dev_token

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STATS_QUERY = "/v1/stats/achievements?group_by=sector,year,field"
MEASURED_KINDS = ("primary-csv", "elmo", "micro-elm")
#: a re-export of the same records: bytes that differ, content that does not
RESEND_SUFFIX = {
    "primary-csv": b"\n",
    "vocational-csv": b"\n",
    "elmo": b"<!-- re-export -->\n",
    "micro-elm": b"\n",
}


@dataclass(frozen=True, slots=True)
class BenchConfig:
    persons: int = 1_000_000
    seed: int = 2026
    work_dir: Path = PROJECT_ROOT / ".register" / "bench"
    results_path: Path = PROJECT_ROOT / "benchmarks" / "results.json"
    file_records: int = 200_000
    elmo_bytes: int = 1024**3
    load_seconds: float = 15.0
    warmup_seconds: float = 2.0
    concurrency: int = 32
    server_workers: int = 1
    # The look-up measured again with these numbers of uvicorn workers (lookup_by_workers); empty: not.
    lookup_workers: tuple[int, ...] = (2, 4)
    lookup_sample: int = 5000
    stats_idle_requests: int = 200
    load_generator: str = "auto"  # auto (wrk when on PATH), wrk, python
    admin_url: str | None = None
    keep_database: bool = False
    # A long run that stopped half-way: its kept database, to go on loading the files not loaded yet.
    resume_url: str | None = None
    load_processes: int = 2  # importers loading the population side by side (as many providers do)
    # Before each cold ceiling (cold_ceiling), also drop the system's page cache (as root only).
    drop_page_cache: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> BenchConfig:
        env = dict(os.environ if env is None else env)
        default = cls()

        def get(name: str, cast: Any, fallback: Any) -> Any:
            raw = env.get(name)
            return fallback if raw in (None, "") else cast(raw)

        return cls(
            persons=get("BENCH_PERSONS", int, default.persons),
            seed=get("BENCH_SEED", int, default.seed),
            work_dir=get("BENCH_WORK_DIR", Path, default.work_dir),
            results_path=get("BENCH_RESULTS", Path, default.results_path),
            file_records=get("BENCH_FILE_RECORDS", int, default.file_records),
            elmo_bytes=get("BENCH_ELMO_BYTES", int, default.elmo_bytes),
            load_seconds=get("BENCH_LOAD_SECONDS", float, default.load_seconds),
            warmup_seconds=get("BENCH_WARMUP_SECONDS", float, default.warmup_seconds),
            concurrency=get("BENCH_CONCURRENCY", int, default.concurrency),
            server_workers=get("BENCH_SERVER_WORKERS", int, default.server_workers),
            lookup_workers=get(
                "BENCH_LOOKUP_WORKERS",
                lambda raw: tuple(int(n) for n in raw.split(",") if n.strip() and n.strip() != "0"),
                default.lookup_workers,
            ),
            lookup_sample=get("BENCH_LOOKUP_SAMPLE", int, default.lookup_sample),
            stats_idle_requests=get("BENCH_STATS_IDLE_REQUESTS", int, default.stats_idle_requests),
            load_generator=get("BENCH_LOAD_GENERATOR", str, default.load_generator),
            admin_url=env.get("BENCH_ADMIN_URL") or None,
            keep_database=env.get("BENCH_KEEP_DATABASE", "") in ("1", "true", "yes"),
            resume_url=env.get("BENCH_RESUME_DATABASE_URL") or None,
            load_processes=get("BENCH_LOAD_PROCESSES", int, default.load_processes),
            drop_page_cache=env.get("BENCH_DROP_PAGE_CACHE", "") in ("1", "true", "yes"),
        )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- database ---------------------------------------------------------------------------------------


def _admin_url(config: BenchConfig) -> str:
    if config.admin_url:
        return to_libpq(config.admin_url)  # a server you run: configured by you
    from register import embedded

    server_dir = config.work_dir / "server"
    admin = embedded.start(server_dir)
    if configure_server(admin, national_scale_settings(_memory_bytes())):
        log("restarting the embedded server for its new settings")
        embedded.restart(server_dir)
    return admin


def national_scale_settings(memory_bytes: int) -> dict[str, str]:
    """PostgreSQL settings for a register at national scale on a machine of ``memory_bytes``.

    The embedded server starts with PostgreSQL's defaults, made for any machine: 128 MB of shared
    buffers and a checkpoint at the latest every 1 GB of WAL. The national run's database outgrows
    the memory (32 GB at a million persons on 24 GB), and the population's load writes WAL by the
    tens of GB: at 100 000 persons 7.7 GB and 15 checkpoints, after each of which the first change to
    a page writes the whole page into the WAL again (470 000 such pages, half of those 7.7 GB). These
    are the settings docs/operations.md gives operators ("PostgreSQL at national scale"), sized the
    same way; at a million persons they made the statistics refresh after an import 1.4-2.3 x faster
    and left the imports as they were (docs/performance.md, "The server's settings").
    """
    mib = memory_bytes // 1024**2
    return {
        # PostgreSQL's documentation: "a reasonable starting value for shared_buffers is 25% of the
        # memory"; above 40 % the operating system's cache, which holds the rest, starts to lose.
        "shared_buffers": f"{max(128, mib // 4)}MB",
        "effective_cache_size": f"{max(512, mib // 2)}MB",  # the planner's guess of all caches
        "max_wal_size": "8GB",  # a checkpoint every 8 GB of WAL, or
        "checkpoint_timeout": "15min",  # every quarter of an hour, whichever comes first
    }


def configure_server(admin: str, wanted: dict[str, str]) -> bool:
    """``ALTER SYSTEM`` each of ``wanted`` and reload; True if the server must restart to take one up.

    The settings a server reads only at its start (``shared_buffers`` here; all such in ``wanted``
    are sizes) are compared with the running value; the others take effect with the reload.
    """
    with psycopg.connect(admin, autocommit=True) as conn:
        for name, value in wanted.items():
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")
        row = conn.execute(
            """SELECT coalesce(bool_or(pg_size_bytes(current_setting(w.name)) <> pg_size_bytes(w.value)), false)
               FROM unnest(%s::text[], %s::text[]) AS w(name, value)
               JOIN pg_settings s ON s.name = w.name AND s.context = 'postmaster'""",
            [list(wanted), list(wanted.values())],
        ).fetchone()
    return bool(row and row[0])


def server_settings(url: str) -> dict[str, str]:
    """The values in effect of the settings ``national_scale_settings`` names (on your server too), for
    results.json."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name",
            [list(national_scale_settings(_memory_bytes()))],
        ).fetchall()
    return dict(rows)


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def create_database(admin: str) -> str:
    from alembic import command

    from register.schema import alembic_config

    name = f"register_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_database(admin, name)
    command.upgrade(alembic_config(url), "heads")
    return url


def drop_database(admin: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def register_organisations(engine: Engine, population: Population) -> None:
    orgs = population.organisations()
    with engine.begin() as conn:
        for org in orgs:
            add_organisation(
                conn, orgnr=org.orgnr, name=org.name, kind=org.kind, codes=list(org.codes.items()),
                name_en=org.name_en, country=org.country,
            )  # fmt: skip
        for org in orgs:
            if org.delivers_for:
                add_organisation(
                    conn, orgnr=org.orgnr, name=org.name, kind=org.kind, delivers_for=list(org.delivers_for)
                )


# --- benchmark 1: import vs COPY ----------------------------------------------------------------------


def import_bytes(
    engine: Engine, settings: Settings, delivery: DeliveryFile, content: bytes
) -> dict[str, Any]:
    started = time.perf_counter()
    report = run_import(
        engine,
        io.BytesIO(content),
        sector=delivery.sector,
        provider_orgnr=delivery.provider_orgnr,
        filename=delivery.path.name,
        content_type=delivery.content_type,
        submitted_by="benchmark",
        settings=settings,
    )
    seconds = time.perf_counter() - started
    return {
        "batch_id": str(report.batch_id),
        "status": report.status,
        "accepted": report.accepted,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "first_errors": [f"{e.code}: {e.message}" for e in report.errors[:3]],
        "seconds": seconds,
    }


def import_file(engine: Engine, settings: Settings, delivery: DeliveryFile) -> dict[str, Any]:
    return import_bytes(engine, settings, delivery, delivery.path.read_bytes())


def load_population(
    url: str, config: BenchConfig, files: list[DeliveryFile]
) -> Iterator[tuple[DeliveryFile, dict[str, Any]]]:
    """Import ``files`` in ``config.load_processes`` processes at once; yields each as it completes."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no engine or lock inherited
    with concurrent.futures.ProcessPoolExecutor(config.load_processes, mp_context=context) as pool:
        running = {pool.submit(_import_in_worker, url, str(config.work_dir), f): f for f in files}
        for future in concurrent.futures.as_completed(running):
            yield running[future], future.result()


_worker_engine: Engine | None = None


def _import_in_worker(url: str, work_dir: str, delivery: DeliveryFile) -> dict[str, Any]:
    global _worker_engine
    if _worker_engine is None:
        _worker_engine = make_engine(url, pool_size=2)
    settings = Settings(
        database_url=url, allow_synthetic_ids=True, data_dir=Path(work_dir), stats_refresh="background"
    )
    return import_file(_worker_engine, settings, delivery)


def copy_ceiling(
    url: str, batch_id: str, *, before_copy: Callable[[], None] | None = None
) -> tuple[int, float]:
    """COPY the achievement rows a batch wrote into ``achievement`` again, timed, and roll back.

    The rows are exported first (to memory, COPY text format) with fresh ids and source keys moved to
    a namespace of their own, so the COPY meets the same table, indexes, unique constraint, foreign
    keys and checks as the import did, with no conflict. ``before_copy`` runs between the export and
    the COPY, on no connection of this one's (``cold_ceiling``). Returns (rows, seconds).
    """
    with psycopg.connect(url) as conn:
        columns = [
            row[0]
            for row in conn.execute(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_schema = 'public' AND table_name = 'achievement' ORDER BY ordinal_position"""
            )
        ]
        select = ", ".join(
            "gen_random_uuid()" if c == "id" else "'ceiling:' || source_key" if c == "source_key" else c
            for c in columns
        )
        buffer = io.BytesIO()
        with conn.cursor() as cur:
            with cur.copy(
                f"COPY (SELECT {select} FROM achievement WHERE batch_id = %s) TO STDOUT", (batch_id,)
            ) as copy:
                for data in copy:
                    buffer.write(data)
            rows = conn.execute(
                "SELECT count(*) FROM achievement WHERE batch_id = %s", (batch_id,)
            ).fetchone()
            conn.commit()
        count = int(rows[0]) if rows else 0
        if before_copy is None:
            return count, _timed_copy(conn, columns, buffer.getvalue())
    before_copy()
    with psycopg.connect(url) as conn:
        return count, _timed_copy(conn, columns, buffer.getvalue())


def _timed_copy(conn: psycopg.Connection[Any], columns: list[str], payload: bytes) -> float:
    """The seconds ``payload`` takes to COPY into ``achievement``, which is then rolled back."""
    with conn.cursor() as cur:
        started = time.perf_counter()
        with cur.copy(f"COPY achievement ({', '.join(columns)}) FROM STDIN") as copy:
            for offset in range(0, len(payload), 1 << 20):
                copy.write(payload[offset : offset + (1 << 20)])
        # The import's figure includes its commit; so does this one's work (constraints are
        # checked per row; nothing is deferred), and then it is undone.
        seconds = time.perf_counter() - started
    conn.rollback()
    return seconds


def cold_ceiling(url: str, batch_id: str, server_dir: Path, *, drop_page_cache: bool) -> dict[str, Any]:
    """``copy_ceiling`` on a cold cache: the embedded server restarted between the export and the COPY
    (a checkpoint at its shutdown: every page clean, its buffers empty) and, with ``drop_page_cache``
    and as root, the system's page cache dropped. The measured import meets its pages after the
    statistics refresh of the whole population, which evicted most of them, and cleaned by checkpoints;
    the ceiling taken right after the import meets them warm and dirty (docs/performance.md, "Import ÷
    COPY: the ceiling on the import's footing"). This one says what the same COPY costs on the
    import's footing, or colder."""
    from register import embedded

    dropped = False

    def make_cold() -> None:
        nonlocal dropped
        embedded.restart(server_dir)
        if drop_page_cache and embedded.running_as_root():
            os.sync()
            with contextlib.suppress(OSError):
                Path("/proc/sys/vm/drop_caches").write_text("3\n")
                dropped = True

    rows, seconds = copy_ceiling(url, batch_id, before_copy=make_cold)
    return {"copy_seconds": round(seconds, 3), "copy_rows": rows, "page_cache_dropped": dropped}


class StatementTimer:
    """Times every database round trip this thread makes while active: where an import spends its
    database time. It wraps psycopg's cursor, so the statements SQLAlchemy runs, those an importer or
    the ingest run on the driver's own cursor (the known-input lookups) and each COPY (its statement,
    every row written, and its end) are all seen. ``total`` is their sum; the rest of the import's
    seconds is Python.
    """

    def __init__(self) -> None:
        #: per statement (its first 140 characters, whitespace folded): [seconds, calls, rows]
        self.statements: dict[str, list[float]] = {}
        self.total = 0.0
        self._thread = threading.get_ident()
        self._saved: dict[str, Any] = {}

    def _record(self, statement: object, seconds: float, rows: int) -> None:
        if threading.get_ident() != self._thread:
            return
        query = statement.as_string(None) if isinstance(statement, sql.Composable) else str(statement)
        key = " ".join(query.split())[:140]
        entry = self.statements.setdefault(key, [0.0, 0, 0])
        entry[0] += seconds
        entry[1] += 1
        entry[2] += max(rows, 0)
        self.total += seconds

    def __enter__(self) -> StatementTimer:
        cursor = psycopg.Cursor
        execute, executemany, copy = cursor.execute, cursor.executemany, cursor.copy
        self._saved = {"execute": execute, "executemany": executemany, "copy": copy}

        def timed(method: Any) -> Any:
            def run(cur: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return method(cur, query, *args, **kwargs)
                finally:
                    self._record(query, time.perf_counter() - started, cur.rowcount)

            return run

        @contextlib.contextmanager
        def timed_copy(cur: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            started = time.perf_counter()
            with copy(cur, statement, *args, **kwargs) as rows:
                yield rows
            self._record(statement, time.perf_counter() - started, cur.rowcount)

        cursor.execute, cursor.executemany, cursor.copy = timed(execute), timed(executemany), timed_copy  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        for name, method in self._saved.items():
            setattr(psycopg.Cursor, name, method)

    def slowest(self, n: int) -> list[dict[str, Any]]:
        """The ``n`` statements that took longest in all, each with its calls and rows."""
        ranked = sorted(self.statements.items(), key=lambda item: item[1][0], reverse=True)[:n]
        return [
            {"seconds": round(seconds, 3), "calls": int(calls), "rows": int(rows), "statement": statement}
            for statement, (seconds, calls, rows) in ranked
        ]


def benchmark_import(
    engine: Engine, settings: Settings, url: str, measured: dict[str, DeliveryFile]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind, delivery in measured.items():
        content = delivery.path.read_bytes()
        with StatementTimer() as statements:
            first = import_bytes(engine, settings, delivery, content)
        refresh = timed_refresh(engine)
        rows, copy_seconds = copy_ceiling(url, first["batch_id"])
        with StatementTimer() as resend_statements:
            resend = import_bytes(engine, settings, delivery, content + RESEND_SUFFIX[kind])
        resend_refresh = timed_refresh(engine)
        duplicate = import_bytes(engine, settings, delivery, content)
        import_rate = first["accepted"] / first["seconds"] if first["seconds"] else 0.0
        copy_rate = rows / copy_seconds if copy_seconds else 0.0
        with_refresh = first["seconds"] + refresh["seconds"]
        results[kind] = {
            "file_bytes": len(content),
            "batch_id": first["batch_id"],
            "import": {k: v for k, v in first.items() if k != "batch_id"},
            "import_achievements_per_s": round(import_rate, 1),
            "copy_rows": rows,
            "copy_seconds": round(copy_seconds, 3),
            "copy_rows_per_s": round(copy_rate, 1),
            "ratio": round(import_rate / copy_rate, 4) if copy_rate else None,
            "refresh": refresh,
            "ratio_with_refresh": round(first["accepted"] / with_refresh / copy_rate, 4)
            if copy_rate
            else None,
            "resend": {k: v for k, v in resend.items() if k != "batch_id"},
            "resend_refresh": resend_refresh,
            "resend_speedup": round(first["seconds"] / resend["seconds"], 2) if resend["seconds"] else None,
            "duplicate": {k: v for k, v in duplicate.items() if k != "batch_id"},
            "duplicate_speedup": round(first["seconds"] / duplicate["seconds"], 2)
            if duplicate["seconds"]
            else None,
            "sql_seconds": round(statements.total, 3),
            "slowest_statements": statements.slowest(8),
            "resend_sql_seconds": round(resend_statements.total, 3),
            "resend_slowest_statements": resend_statements.slowest(8),
        }
        log(
            f"import {kind}: {first['accepted']} in {first['seconds']:.2f}s ({import_rate:.0f}/s) vs COPY "
            f"{copy_rate:.0f}/s → {results[kind]['ratio']}; statistics refresh {refresh['persons']} persons "
            f"{refresh['seconds']:.2f}s; re-send {resend['status']} {resend['seconds']:.2f}s"
        )
    return results


def timed_refresh(engine: Engine) -> dict[str, Any]:
    """The statistics refresh of what is pending (the register runs it after each import's commit)."""
    started = time.perf_counter()
    report = refresh_pending(engine)
    return {"persons": report.persons, "seconds": round(time.perf_counter() - started, 3)}


# --- the server ----------------------------------------------------------------------------------------


class Server:
    """``benchmarks.app:create_bench_app`` under uvicorn in a subprocess, on a free local port."""

    def __init__(self, url: str, settings_env: dict[str, str], workers: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.host = "127.0.0.1"
        env = {**os.environ, **settings_env, "REGISTER_DATABASE_URL": url, "REGISTER_LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "benchmarks.app:create_bench_app",
                "--factory",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=PROJECT_ROOT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the benchmark server exited at start")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the benchmark server did not start within 60 s")

    def cpu_seconds(self) -> float | None:
        """User and system CPU seconds of the server and its worker processes so far (Linux /proc)."""
        try:
            tick = os.sysconf("SC_CLK_TCK")
            total = 0
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    fields = (entry / "stat").read_text().rpartition(")")[2].split()
                except OSError:
                    continue  # a process that ended while we looked
                # after the name: state, ppid, …; utime and stime are the 14th and 15th fields of the line
                if int(entry.name) == self.process.pid or int(fields[1]) == self.process.pid:
                    total += int(fields[11]) + int(fields[12])
            return total / tick
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _post_json(host: str, port: int, path: str, body: dict[str, Any], token: str) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            json.dumps(body),
            {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def sample_nins(engine: Engine, n: int, seed: int) -> list[str]:
    with engine.connect() as conn:
        values = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT value FROM person_identifier WHERE kind IN ('fnr', 'dnr', 'synthetic') ORDER BY value"
                )
            )
        ]
    rng = random.Random(seed)
    return rng.sample(values, min(n, len(values)))


def benchmark_lookup(
    server: Server, token: str, nins: list[str], config: BenchConfig, url: str
) -> dict[str, Any]:
    warm, answer_sizes = warm_sample(server, token, nins, config.concurrency)
    sizes = answer_sizes[:50]  # the bare endpoint's body: as large as a real answer
    size = int(statistics.median(sizes))
    log(f"look-up, warming the sample: {len(nins)} persons in {warm['seconds']:.1f} s ({warm['rps']:.0f}/s)")
    headers = (("Authorization", f"Bearer {token}"), ("Content-Type", "application/json"))
    lookups = [
        Request("POST", "/v1/persons/lookup", json.dumps({"nin": nin}).encode(), headers) for nin in nins
    ]
    constant = [Request("POST", f"/bench/constant/{size}", r.body, headers) for r in lookups]
    cpu_before = server.cpu_seconds()
    ceiling = run_load(
        server.host, server.port, constant, connections=config.concurrency, seconds=config.load_seconds,
        warmup=config.warmup_seconds, generator=config.load_generator,
    )  # fmt: skip
    ceiling_cpu = _cpu_ms_per_request(server.cpu_seconds() - cpu_before, ceiling.rps, config)
    log(f"ceiling: {ceiling.rps:.0f} req/s, p99 {ceiling.p99_ms:.1f} ms")
    # One connection first: the look-up's own latency, without queueing behind others.
    single = run_load(
        server.host, server.port, lookups, connections=1, seconds=max(1.0, config.load_seconds / 3),
        warmup=min(1.0, config.warmup_seconds), generator=config.load_generator,
    )  # fmt: skip
    log(f"look-up, 1 connection: {single.rps:.0f} req/s, p50 {single.p50_ms:.1f} ms")
    cpu_before = server.cpu_seconds()
    with WaitSampler(url) as waits:
        lookup = run_load(
            server.host, server.port, lookups, connections=config.concurrency, seconds=config.load_seconds,
            warmup=config.warmup_seconds, generator=config.load_generator,
        )  # fmt: skip
    lookup_cpu = _cpu_ms_per_request(server.cpu_seconds() - cpu_before, lookup.rps, config)
    log(
        f"look-up: {lookup.rps:.0f} req/s, p99 {lookup.p99_ms:.1f} ms, errors {lookup.errors}; waits {waits.summary()}"
    )
    return {
        "response_bytes_median": size,
        "response_bytes_range": [min(sizes), max(sizes)],
        "ceiling": ceiling.as_dict(),
        "lookup": lookup.as_dict(),
        "lookup_one_connection": single.as_dict(),
        "ratio": round(lookup.rps / ceiling.rps, 4) if ceiling.rps else None,
        "warm_pass": warm,
        # The server's own CPU (all its processes) per request: what the ratio would be if the server
        # got the same share of the machine for both loads, which a shared machine does not promise.
        "server_cpu_ms_per_request": {"ceiling": ceiling_cpu, "lookup": lookup_cpu},
        "cpu_ratio": round(ceiling_cpu / lookup_cpu, 4) if ceiling_cpu and lookup_cpu else None,
        "database_waits": waits.summary(),
    }


def warm_sample(
    server: Server, token: str, nins: list[str], concurrency: int
) -> tuple[dict[str, Any], list[int]]:
    """One look-up of every sampled person before the measured loads, unmeasured: the loads cycle over
    the sample, so this is the working set they measure. Without it the first load meets whatever the
    steps before it left in the caches — after the cold ceilings, a restarted server and (with
    ``BENCH_DROP_PAGE_CACHE``) an empty page cache, so its first seconds read from disk what its last
    seconds find in memory. Returns its seconds and rate (the look-up's on the caches it started from)
    and each answer's size in bytes, in the sample's order."""

    def look_up(nin: str) -> int:
        status, body = _post_json(server.host, server.port, "/v1/persons/lookup", {"nin": nin}, token)
        if status != 200:
            raise RuntimeError(f"look-up of a sampled person answered {status}: {body[:300]!r}")
        return len(body)

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        sizes = list(pool.map(look_up, nins))
    seconds = time.perf_counter() - started
    return {"lookups": len(nins), "seconds": round(seconds, 2), "rps": round(len(nins) / seconds, 1)}, sizes


def _cpu_ms_per_request(cpu_seconds: float | None, rps: float, config: BenchConfig) -> float | None:
    """CPU milliseconds per request over a load run, whose warm-up is taken to run at the same rate."""
    requests = rps * (config.load_seconds + config.warmup_seconds)
    return round(cpu_seconds * 1000 / requests, 3) if cpu_seconds is not None and requests else None


def lookup_by_workers(
    url: str,
    settings_env: dict[str, str],
    token: str,
    nins: list[str],
    config: BenchConfig,
    measured: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """The look-up and its ceiling again with each of ``BENCH_LOOKUP_WORKERS`` uvicorn workers, each
    count on a server of its own; ``measured`` is the run's own (``BENCH_SERVER_WORKERS``). How the
    ratio scales with processes — on a machine whose cores PostgreSQL and the load generator share."""
    figures = {str(config.server_workers): _worker_figures(measured)}
    for workers in config.lookup_workers:
        if str(workers) in figures:
            continue
        server = Server(url, settings_env, workers)
        try:
            log(f"look-up with {workers} workers")
            figures[str(workers)] = _worker_figures(benchmark_lookup(server, token, nins, config, url))
        finally:
            server.stop()
    return dict(sorted(figures.items(), key=lambda item: int(item[0])))


def _worker_figures(measured: dict[str, Any]) -> dict[str, Any]:
    lookup, ceiling = measured["lookup"], measured["ceiling"]
    return {
        "ratio": measured["ratio"],
        "cpu_ratio": measured["cpu_ratio"],
        "lookup_rps": lookup["rps"],
        "ceiling_rps": ceiling["rps"],
        "lookup_p50_ms": lookup["p50_ms"],
        "lookup_p99_ms": lookup["p99_ms"],
        "errors": lookup["errors"] + ceiling["errors"],
    }  # fmt: skip


class WaitSampler:
    """Samples what the database's active sessions wait on (pg_stat_activity), ten times a second.

    The share of samples per wait event shows where concurrent requests queue: ``Lock/advisory`` is a
    serialization point in the application, ``IO/WALSync`` the commit's flush, ``CPU`` (no wait) work.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.counts: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(0.1):
                rows = conn.execute(
                    """SELECT coalesce(wait_event_type || '/' || wait_event, 'CPU'), count(*)
                       FROM pg_stat_activity
                       WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
                       GROUP BY 1"""
                ).fetchall()
                self.samples += 1
                for event, count in rows:
                    self.counts[event] = self.counts.get(event, 0) + int(count)

    def summary(self) -> dict[str, float]:
        """Average number of active sessions in each wait state."""
        if not self.samples:
            return {}
        return {
            event: round(count / self.samples, 2)
            for event, count in sorted(self.counts.items(), key=lambda item: -item[1])
        }


# --- benchmarks 3 and 4: stats during a big import, and its memory ---------------------------------------


class _Child:
    """A subprocess reaped with ``wait4``, so that its own resource usage (peak RSS) is known."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE)
        self.usage: Any = None
        self.exit_code: int | None = None

    def running(self) -> bool:
        if self.exit_code is not None:
            return False
        pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.exit_code, self.usage = os.waitstatus_to_exitcode(status), usage
        return False

    def wait(self) -> bytes:
        assert self.process.stdout is not None
        output = self.process.stdout.read()  # until the child closes it, at exit
        if self.exit_code is None:
            _, status, self.usage = os.wait4(self.process.pid, 0)
            self.exit_code = os.waitstatus_to_exitcode(status)
        self.process.returncode = self.exit_code
        return output


def _stats_latencies(server: Server, token: str, *, until: _Child | None, count: int) -> list[float]:
    """Sequential GETs of the national totals: ``count`` of them, or as many as fit while ``until`` runs."""
    import http.client

    connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
    latencies: list[float] = []
    try:
        while True:
            if until is not None and not until.running():
                break
            if until is None and len(latencies) >= count:
                break
            started = time.perf_counter()
            connection.request("GET", STATS_QUERY, headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"stats answered {response.status}")
            latencies.append(time.perf_counter() - started)
            if until is not None:
                time.sleep(0.02)  # an analyst's dashboard, not a load test: ~50 requests/s at most
    finally:
        connection.close()
    return latencies


def benchmark_stats_and_memory(
    server: Server,
    token: str,
    population: Population,
    config: BenchConfig,
    url: str,
    settings_env: dict[str, str],
) -> dict[str, Any]:
    idle = sorted(_stats_latencies(server, token, until=None, count=config.stats_idle_requests))
    big = config.work_dir / "big-elmo.xml"
    records = write_elmo_of_size(population, big, config.elmo_bytes, first=population.persons + 10_000_000)
    size = big.stat().st_size
    log(f"big ELMO file: {size / 1e6:.0f} MB, {records} records; importing in a subprocess")
    env = {**os.environ, **settings_env, "REGISTER_DATABASE_URL": url}
    university = population.universities[0]
    started = time.perf_counter()
    child = _Child(
        [
            sys.executable,
            "-m",
            "benchmarks.importfile",
            str(big),
            "higher",
            university.orgnr,
            "application/xml",
        ],
        env,
    )
    during = sorted(_stats_latencies(server, token, until=child, count=0))
    output = child.wait()
    usage = child.usage
    seconds = time.perf_counter() - started
    report = json.loads(output.decode().strip().splitlines()[-1]) if output.strip() else {}
    big.unlink()
    log(f"big import: {report}; stats p99 during {percentile(during, 0.99) * 1000:.1f} ms")
    return {
        "stats": {
            "query": STATS_QUERY,
            "idle": _summary(idle),
            "during_import": _summary(during),
        },
        "memory": {
            "file_bytes": size,
            "records": records,
            "import": report,
            "seconds": round(seconds, 2),
            # The child's own and its parse workers' (benchmarks.importfile); wait4's ru_maxrss is at
            # least this process's memory at the spawn, which grows with the population it built.
            "peak_rss_mb": report.get("peak_rss_mb"),
            "wait4_max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        },
    }


def uncached_stats(engine: Engine, repeats: int = 30) -> dict[str, Any]:
    """What a cache miss costs: the stats query and suppression in-process, no HTTP, no encoding."""
    dims = parse_group_by(STATS_QUERY.partition("group_by=")[2])
    latencies = []
    with engine.connect() as conn:
        for _ in range(repeats):
            started = time.perf_counter()
            result = achievement_stats(conn, group_by=dims, filters={}, threshold=5)
            latencies.append(time.perf_counter() - started)
    return {**_summary(sorted(latencies)), "cells": len(result.cells)}


def _summary(sorted_latencies: list[float]) -> dict[str, Any]:
    return {
        "requests": len(sorted_latencies),
        "p50_ms": round(percentile(sorted_latencies, 0.5) * 1000, 2) if sorted_latencies else None,
        "p99_ms": round(percentile(sorted_latencies, 0.99) * 1000, 2) if sorted_latencies else None,
        "max_ms": round(sorted_latencies[-1] * 1000, 2) if sorted_latencies else None,
    }


# --- the whole run ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    with contextlib.suppress(ValueError, OSError):
        memory_gb = round(_memory_bytes() / 1024**3, 1)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": memory_gb,
        "cpu": model,
        "python": platform.python_version(),
    }


def run(config: BenchConfig) -> dict[str, Any]:
    started = time.perf_counter()
    config.work_dir.mkdir(parents=True, exist_ok=True)
    files_dir = config.work_dir / "files"
    shutil.rmtree(files_dir, ignore_errors=True)
    admin = _admin_url(config)
    url = to_libpq(config.resume_url) if config.resume_url else create_database(admin)
    settings_env = {
        "REGISTER_ALLOW_SYNTHETIC_IDS": "true",
        "REGISTER_ENVIRONMENT": "development",
        "REGISTER_DATA_DIR": str(config.work_dir),
    }
    # Imports leave their persons pending and the benchmark refreshes the statistics itself, timed:
    # after the population (once for all files) and after each measured import.
    settings = Settings(
        database_url=url, allow_synthetic_ids=True, data_dir=config.work_dir, stats_refresh="background"
    )
    engine = make_engine(url, pool_size=4)
    server: Server | None = None
    try:
        with psycopg.connect(url) as conn:
            server_version = conn.execute("SHOW server_version").fetchone()
        population = Population(config.persons, config.seed)
        register_organisations(engine, population)
        log(f"writing the delivery files of {config.persons} persons")
        t0 = time.perf_counter()
        files, counts = population.write_deliveries(files_dir, file_records=config.file_records)
        generate_seconds = time.perf_counter() - t0
        log(f"{len(files)} files, {counts.achievements} achievements in {generate_seconds:.1f}s")

        # Hold back the largest file of each measured kind: measured once the register holds the rest.
        measured: dict[str, DeliveryFile] = {}
        for kind in MEASURED_KINDS:
            candidates = [f for f in files if f.kind == kind]
            if candidates:
                measured[kind] = max(candidates, key=lambda f: f.achievements)
        bulk = [f for f in files if f not in measured.values()]
        if config.resume_url:  # the files a stopped run completed are in already
            with engine.connect() as loaded_before:
                done = set(
                    loaded_before.execute(
                        text("SELECT filename FROM import_batch WHERE status = 'completed'")
                    ).scalars()
                )
            log(f"resuming: {sum(f.path.name in done for f in bulk)} of {len(bulk)} files loaded before")
            bulk = [f for f in bulk if f.path.name not in done]
        t0 = time.perf_counter()
        loaded = {"accepted": 0, "rejected": 0}
        rejections: dict[str, int] = {}
        for n, (delivery, outcome) in enumerate(load_population(url, config, bulk), 1):
            if outcome["status"] != "completed":
                raise RuntimeError(f"{delivery.path.name}: {outcome['status']} {outcome['first_errors']}")
            loaded["accepted"] += outcome["accepted"]
            loaded["rejected"] += outcome["rejected"]
            if outcome["rejected"]:
                rejections[delivery.kind] = rejections.get(delivery.kind, 0) + outcome["rejected"]
                log(f"{delivery.path.name}: {outcome['rejected']} rejected, e.g. {outcome['first_errors']}")
            if n % 10 == 0 or n == len(bulk):
                rate = loaded["accepted"] / (time.perf_counter() - t0)
                log(
                    f"population load: {n}/{len(bulk)} files, {loaded['accepted']} achievements, {rate:.0f}/s"
                )
        load_seconds = time.perf_counter() - t0
        population_refresh = timed_refresh(engine)
        log(
            f"statistics of the population: {population_refresh['persons']} persons in {population_refresh['seconds']}s"
        )

        import_results = benchmark_import(engine, settings, url, measured)
        if not config.admin_url:  # the benchmark's own server, which it may restart
            for kind, measured_import in import_results.items():
                engine.dispose()  # no connection of the pool survives a restart
                cold = cold_ceiling(
                    url, measured_import["batch_id"], config.work_dir / "server",
                    drop_page_cache=config.drop_page_cache,
                )  # fmt: skip
                import_rate = measured_import["import_achievements_per_s"]
                cold["ratio"] = (
                    round(import_rate / (cold["copy_rows"] / cold["copy_seconds"]), 4)
                    if cold["copy_seconds"]
                    else None
                )
                measured_import["cold_ceiling"] = cold
                log(f"cold ceiling {kind}: {cold}")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            persons, achievements = conn.execute(
                "SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM achievement)"
            ).fetchone() or (0, 0)
            database_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        settings_in_effect = server_settings(url)

        server = Server(url, settings_env, config.server_workers)
        token = issue_dev_token(
            settings, scopes=["kompetanse:read", "kompetanse:stats"], orgnr=population.universities[0].orgnr
        )
        nins = sample_nins(engine, config.lookup_sample, config.seed)
        lookup = benchmark_lookup(server, token, nins, config, url)
        stats_uncached = uncached_stats(engine)
        stats_memory = benchmark_stats_and_memory(server, token, population, config, url, settings_env)
        stats_memory["stats"]["uncached_compute"] = stats_uncached
        server.stop()  # the cores to the servers of other worker counts
        by_workers = lookup_by_workers(url, settings_env, token, nins, config, lookup)
    finally:
        if server is not None:
            server.stop()
        engine.dispose()
        if not (config.keep_database or config.resume_url):
            drop_database(admin, url)
        shutil.rmtree(files_dir, ignore_errors=True)

    def ratio(kind: str) -> float | None:
        return import_results.get(kind, {}).get("ratio")

    speedups = [r["resend_speedup"] for r in import_results.values() if r.get("resend_speedup")]
    load_rate = loaded["accepted"] / load_seconds if load_seconds else None
    # The population's ceiling is the COPY of the measured imports' rows in this run (all of them
    # together: the population is every kind of file), into the same table holding the population.
    copy_rows = sum(r["copy_rows"] for r in import_results.values())
    copy_seconds = sum(r["copy_seconds"] for r in import_results.values())
    copy_rate = copy_rows / copy_seconds if copy_seconds else None
    results: dict[str, Any] = {
        "persons": int(persons),
        "achievements": int(achievements),
        "import_csv_ratio": ratio("primary-csv"),
        "import_elmo_ratio": ratio("elmo"),
        "import_micro_ratio": ratio("micro-elm"),
        "population_load_ratio": round(load_rate / copy_rate, 4) if load_rate and copy_rate else None,
        "resend_speedup": min(speedups) if speedups else None,
        "lookup_ratio": lookup["ratio"],
        "lookup_p99_ms": lookup["lookup"]["p99_ms"],
        "lookup_by_workers": by_workers,
        "stats_p99_ms": stats_memory["stats"]["during_import"]["p99_ms"],
        # Only a completed import's peak counts: a failed one may stop before its largest step.
        "import_peak_rss_mb": stats_memory["memory"]["peak_rss_mb"]
        if stats_memory["memory"]["import"].get("status") == "completed"
        else None,
        "goals": {
            "import_csv_ratio": ">= 0.5",
            "import_elmo_ratio": ">= 0.25",
            "population_load_ratio": ">= 0.5",
            "resend_speedup": ">= 5",
            "lookup_ratio": ">= 0.35",
            "lookup_p99_ms": "<= 25",
            "stats_p99_ms": "<= 50",
            "import_peak_rss_mb": "<= 300",
        },
        "scale": {
            "bench_persons": config.persons,
            "seed": config.seed,
            "generated_achievements": counts.achievements,
            "generated_by_kind": counts.by_kind,
            "files": len(files),
            "files_loaded_before_resuming": len(files) - len(measured) - len(bulk),
            "file_records": config.file_records,
            "generate_seconds": round(generate_seconds, 1),
            "population_load_seconds": round(load_seconds, 1),
            "population_load_achievements_per_s": round(load_rate, 1) if load_rate else None,
            "population_copy_rows_per_s": round(copy_rate, 1) if copy_rate else None,
            "population_rejected": rejections,
            "population_refresh": population_refresh,
            "database_bytes": int(database_bytes[0]) if database_bytes else None,
        },
        "import": import_results,
        "lookup": lookup,
        "load_generator": generator_name(config.load_generator),
        "concurrency": config.concurrency,
        "server_workers": config.server_workers,
        # the ELMO importer's worker processes for a streamed batch (REGISTER_IMPORT_PARSE_WORKERS)
        "import_parse_workers": settings.import_parse_workers,
        **stats_memory,
        "machine": {
            **machine(),
            "postgresql": server_version[0] if server_version else None,
            "postgresql_settings": settings_in_effect,
        },
        "seconds": round(time.perf_counter() - started, 1),
        "kinds": list(KINDS),
    }
    return results


#: birth years between two memory files in one kept database: a 1 GB file (1.3 M records, a transcript
#: of several per person) takes far fewer, at about 100 000 numbers a year (NinSequence)
MEMORY_FILE_YEARS = 10


def run_memory(config: BenchConfig, kept_url: str | None = None) -> dict[str, Any]:
    """Benchmark 4 alone: peak RSS of importing an ELMO file of ``BENCH_ELMO_BYTES``
    (``python -m benchmarks.run memory``) into a fresh register holding only the population's
    organisations, or — with ``BENCH_DATABASE_URL`` — into a database a full run kept: the register at
    scale, whose size the memory once seemed to grow with (docs/performance.md). The kept database gets the
    file's persons for good: each run there takes persons born ten years before the previous one's."""
    config.work_dir.mkdir(parents=True, exist_ok=True)
    admin: str | None = None
    if kept_url:
        url = to_libpq(kept_url)
    else:
        admin = _admin_url(config)
        url = create_database(admin)
    try:
        population = Population(config.persons, config.seed)
        engine = make_engine(url, pool_size=2)
        if kept_url:
            with engine.connect() as conn:
                earlier, persons, achievements = conn.execute(
                    text(
                        """SELECT (SELECT count(*) FROM import_batch WHERE filename LIKE 'big-elmo%%'),
                                  (SELECT count(*) FROM person), (SELECT count(*) FROM achievement)"""
                    )
                ).one()
        else:
            register_organisations(engine, population)
            earlier = persons = achievements = 0
        engine.dispose()
        big = config.work_dir / f"big-elmo-{earlier}.xml"
        records = write_elmo_of_size(
            population, big, config.elmo_bytes, first=population.persons + 10_000_000,
            first_year=1949 - MEMORY_FILE_YEARS * earlier,
        )  # fmt: skip
        size = big.stat().st_size
        log(
            f"ELMO file: {size / 1e6:.0f} MB, {records} records; importing in a subprocess into a register"
            f" of {achievements} achievements"
        )
        env = {
            **os.environ,
            "REGISTER_DATABASE_URL": url,
            "REGISTER_ALLOW_SYNTHETIC_IDS": "true",
            "REGISTER_DATA_DIR": str(config.work_dir),
        }
        started = time.perf_counter()
        child = _Child(
            [sys.executable, "-m", "benchmarks.importfile", str(big), "higher", population.universities[0].orgnr,
             "application/xml"],
            env,
        )  # fmt: skip
        output = child.wait()
        seconds = time.perf_counter() - started
        big.unlink()
    finally:
        if admin is not None and not config.keep_database:
            drop_database(admin, url)
    report = json.loads(output.decode().strip().splitlines()[-1]) if output.strip() else {}
    peak = report.get("peak_rss_mb")  # the child's and its workers', as in benchmark_stats_and_memory
    return {
        "import_peak_rss_mb": peak if report.get("status") == "completed" else None,
        "memory": {"file_bytes": size, "records": records, "import": report, "seconds": round(seconds, 1),
                   "peak_rss_mb": peak, "wait4_max_rss_mb": round(child.usage.ru_maxrss / 1024, 1),
                   "register_persons": int(persons),
                   "register_achievements": int(achievements),
                   "stats_refresh": os.environ.get("REGISTER_STATS_REFRESH", "after_import")},
        "machine": machine(),
    }  # fmt: skip


def run_reads(config: BenchConfig, url: str) -> dict[str, Any]:
    """Benchmarks 2 and 3 (idle) again, on a database a full run kept (``BENCH_KEEP_DATABASE=1``):
    ``BENCH_DATABASE_URL=… python -m benchmarks.run reads``. Also times the statistics tables that
    are computed on demand (by NUS, by grade), which a full run does not."""
    url = to_libpq(url)
    engine = make_engine(url, pool_size=2)
    settings = Settings(database_url=url, allow_synthetic_ids=True, data_dir=config.work_dir)
    settings_env = {
        "REGISTER_ALLOW_SYNTHETIC_IDS": "true",
        "REGISTER_ENVIRONMENT": "development",
        "REGISTER_DATA_DIR": str(config.work_dir),
    }
    with engine.connect() as conn:
        persons, achievements = conn.execute(
            text("SELECT (SELECT count(*) FROM person), (SELECT count(*) FROM achievement)")
        ).one()
        orgnr = conn.execute(
            text("SELECT orgnr FROM organisation WHERE kind = 'university' AND orgnr IS NOT NULL LIMIT 1")
        ).scalar_one()
    server = Server(url, settings_env, config.server_workers)
    token = issue_dev_token(settings, scopes=["kompetanse:read", "kompetanse:stats"], orgnr=orgnr)
    nins = sample_nins(engine, config.lookup_sample, config.seed)
    try:
        lookup = benchmark_lookup(server, token, nins, config, url)
        idle = sorted(_stats_latencies(server, token, until=None, count=config.stats_idle_requests))
    finally:
        server.stop()
    by_workers = lookup_by_workers(url, settings_env, token, nins, config, lookup)
    on_demand = {}
    with engine.connect() as conn:
        for group in ("nus", "grade"):
            started = time.perf_counter()
            result = achievement_stats(
                conn, group_by=[group], filters={}, threshold=5, on_demand_seconds=3600
            )
            on_demand[group] = {
                "seconds": round(time.perf_counter() - started, 2),
                "cells": len(result.cells),
            }
            log(f"statistics by {group}, computed on demand: {on_demand[group]}")
    uncached = uncached_stats(engine)
    engine.dispose()
    return {
        "persons": int(persons),
        "achievements": int(achievements),
        "lookup_ratio": lookup["ratio"],
        "lookup_p99_ms": lookup["lookup"]["p99_ms"],
        "lookup_by_workers": by_workers,
        "lookup": lookup,
        "stats": {"query": STATS_QUERY, "idle": _summary(idle), "uncached_compute": uncached},
        "stats_on_demand": on_demand,
        "load_generator": generator_name(config.load_generator),
        "concurrency": config.concurrency,
        "server_workers": config.server_workers,
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["memory"], ["reads"]):
        print("usage: python -m benchmarks.run [memory | reads]", file=sys.stderr)
        return 2
    config = BenchConfig.from_env()
    if args and not os.environ.get("BENCH_RESULTS"):
        config = dataclasses.replace(
            config, results_path=PROJECT_ROOT / "benchmarks" / f"results-{args[0]}.json"
        )
    if args == ["memory"]:
        results = run_memory(config, os.environ.get("BENCH_DATABASE_URL") or None)
    elif args == ["reads"]:
        if not os.environ.get("BENCH_DATABASE_URL"):
            print("reads needs BENCH_DATABASE_URL: a database a full run kept", file=sys.stderr)
            return 2
        results = run_reads(config, os.environ["BENCH_DATABASE_URL"])
    else:
        results = run(config)
    config.results_path.parent.mkdir(parents=True, exist_ok=True)
    config.results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
