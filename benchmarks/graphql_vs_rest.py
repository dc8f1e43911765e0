"""GraphQL ``person`` query against REST's ``POST /v1/persons/lookup`` for the same persons and data.

``python -m benchmarks.graphql_vs_rest [--persons N] [--courses N] [--organisations N] [--requests N]
[--concurrency N] [--server]`` seeds a fresh database with synthetic persons (each with one degree per
organisation and ``--courses`` course results nested under them), checks once that both APIs give
exactly the same achievements, then measures both in one run — in alternating rounds, so drift of the
machine hits both alike — and prints one JSON object: requests per second of each, latency
percentiles, and ``ratio`` = GraphQL throughput / REST throughput (the goal: at least 0.7).

By default the requests go to the app in this process over httpx's ASGI transport (the app's own
cost, no sockets); ``--server`` starts uvicorn in a subprocess and goes over TCP with keep-alive.
The database is a new one on ``BENCH_ADMIN_URL`` (a server you run) or on the embedded development
server, dropped at the end. ``run()`` is the same measurement on an engine and app you give it (the
test suite runs it at smoke size).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import Connection, Engine, text

from register.organisations import add_organisation
from register.settings import Settings
from register.synthetic import synthetic_nin, synthetic_orgnr
from register.tokens import issue_dev_token

PROJECT_ROOT = Path(__file__).resolve().parents[1]

_ACHIEVEMENT = """
    id sector kind year term version completedOn
    specification { kind code codeScheme title { nb nn en } description { nb nn en } credits { value scheme }
                    level { nkr eqf } nusCode iscedfCode learningOutcomes }
    organisation { orgnr name nameEn kind country }
    grade { asDelivered scheme passed }
    credits { value scheme }
"""
#: every field REST's look-up returns, nested as deep as the register nests (degree → module → course)
PERSON_QUERY = f"""
query Person($nin: String!) {{
  person(nin: $nin) {{
    id name {{ given family }} birthDate
    achievements(first: 500) {{
      edges {{ node {{ {_ACHIEVEMENT} parts {{ {_ACHIEVEMENT} parts {{ {_ACHIEVEMENT} }} }} }} }}
    }}
  }}
}}
"""


@dataclass(frozen=True, slots=True)
class Seeded:
    nins: list[str]
    achievements_per_person: int
    organisations: int


def seed(engine: Engine, *, persons: int, courses: int, organisations: int, rng: random.Random) -> Seeded:
    """Persons with one degree per organisation and ``courses`` course results under the degrees."""
    with engine.begin() as conn:
        orgs = [_organisation(conn, rng, i) for i in range(organisations)]
        batches = {
            org_id: conn.execute(
                text(
                    """INSERT INTO import_batch (provider_id, sector, sha256, size_bytes, status)
                       VALUES (:p, 'higher', :h, 0, 'completed') RETURNING id"""
                ),
                {"p": org_id, "h": uuid.uuid4().hex},
            ).scalar_one()
            for org_id in orgs
        }
        degree_spec = _specification(conn, "BACH", "qualification", None, None)
        course_specs = [_specification(conn, f"EMNE{c:04d}", "course", 10, "ects") for c in range(courses)]
        nins = []
        for p in range(persons):
            nin = synthetic_nin(rng)
            person_id = conn.execute(
                text("INSERT INTO person (given_name, family_name) VALUES ('Kari', :f) RETURNING id"),
                {"f": f"Nordmann{p}"},
            ).scalar_one()
            conn.execute(
                text("INSERT INTO person_identifier (person_id, kind, value) VALUES (:p, 'synthetic', :v)"),
                {"p": person_id, "v": nin},
            )
            degrees = [
                _achievement(conn, person_id, org_id, batches[org_id], degree_spec, "degree", None, 180, None)
                for org_id in orgs
            ]
            for c, spec in enumerate(course_specs):
                parent = c % organisations
                grade = ("a-f", "F", False) if c % 9 == 8 else ("a-f", "B", True)
                _achievement(
                    conn,
                    person_id,
                    orgs[parent],
                    batches[orgs[parent]],
                    spec,
                    "course_result",
                    grade,
                    10,
                    degrees[parent],
                )
            nins.append(nin)
    return Seeded(nins=nins, achievements_per_person=organisations + courses, organisations=organisations)


def _organisation(conn: Connection, rng: random.Random, i: int) -> int:
    return add_organisation(conn, orgnr=synthetic_orgnr(rng), name=f"Universitet {i}", kind="university")


def _specification(conn: Connection, code: str, kind: str, credits: int | None, scheme: str | None) -> int:
    return int(
        conn.execute(
            text(
                """INSERT INTO learning_specification (content_key, kind, code, code_scheme, title, credits,
                       credit_scheme, nkr_level, iscedf_code)
                   VALUES (:k, :kind, :code, 'fs', CAST(:title AS jsonb), :credits, :scheme, '6', '0613')
                   RETURNING id"""
            ),
            {
                "k": uuid.uuid4().hex,
                "kind": kind,
                "code": code,
                "title": json.dumps({"nb": f"Emne {code}", "en": f"Course {code}"}),
                "credits": credits,
                "scheme": scheme,
            },
        ).scalar_one()
    )


def _achievement(
    conn: Connection,
    person_id: uuid.UUID,
    org_id: int,
    batch_id: uuid.UUID,
    spec_id: int,
    kind: str,
    grade: tuple[str, str, bool] | None,
    credits: int,
    part_of: uuid.UUID | None,
) -> uuid.UUID:
    return conn.execute(
        text(
            """INSERT INTO achievement (person_id, provider_id, source_key, awarding_org_id, specification_id,
                   sector, kind, part_of_id, grade_scheme, grade_value, grade_passed, credits, credit_scheme,
                   year, content_hash, batch_id)
               VALUES (:person, :org, :key, :org, :spec, 'higher', :kind, :part_of, :gs, :gv, :gp, :credits,
                       'ects', 2024, :hash, :batch)
               RETURNING id"""
        ),
        {
            "person": person_id,
            "org": org_id,
            "key": uuid.uuid4().hex,
            "spec": spec_id,
            "kind": kind,
            "part_of": part_of,
            "gs": grade[0] if grade else None,
            "gv": grade[1] if grade else None,
            "gp": grade[2] if grade else None,
            "credits": credits,
            "hash": uuid.uuid4().hex,
            "batch": batch_id,
        },
    ).scalar_one()


# --- one request of each kind ---------------------------------------------------------------------


def rest_request(nin: str) -> dict[str, Any]:
    return {"url": "/v1/persons/lookup", "json": {"nin": nin}}


def graphql_request(nin: str) -> dict[str, Any]:
    return {"url": "/graphql", "json": {"query": PERSON_QUERY, "variables": {"nin": nin}}}


def _ids_rest(achievements: list[dict[str, Any]]) -> list[Any]:
    return [(a["id"], a["grade"] and a["grade"]["value"], _ids_rest(a["parts"])) for a in achievements]


def _ids_graphql(achievements: list[dict[str, Any]]) -> list[Any]:
    return [
        (a["id"], a["grade"] and a["grade"]["asDelivered"], _ids_graphql(a.get("parts", [])))
        for a in achievements
    ]


async def check_same_data(client: httpx.AsyncClient, nin: str) -> int:
    """Both APIs give the same achievements, nested the same way; returns how many."""
    rest = await client.post(**rest_request(nin))
    graph = await client.post(**graphql_request(nin))
    rest.raise_for_status()
    graph.raise_for_status()
    body = graph.json()
    if body.get("errors"):
        raise RuntimeError(
            f"GraphQL answered with errors: {[e['extensions']['code'] for e in body['errors']]}"
        )
    from_rest = _ids_rest(rest.json()["achievements"])
    from_graph = _ids_graphql([e["node"] for e in body["data"]["person"]["achievements"]["edges"]])
    if from_rest != from_graph:
        raise RuntimeError("REST and GraphQL gave different achievements for the same person")

    def count(tree: list[Any]) -> int:
        return sum(1 + count(parts) for _, _, parts in tree)

    return count(from_rest)


# --- measuring --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Series:
    latencies: list[float]
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of the server (in-process mode: this process, client included)
    errors: int = 0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        n = len(ordered)
        return {
            "requests": n,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(n / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(1000 * statistics.median(ordered), 2) if ordered else None,
            "p99_ms": round(1000 * ordered[min(n - 1, int(n * 0.99))], 2) if ordered else None,
            "cpu_ms_per_request": round(1000 * self.cpu_seconds / n, 2) if n else None,
        }


async def _burst(
    cpu_clock: Callable[[], float],
    client: httpx.AsyncClient,
    make: Callable[[str], dict[str, Any]],
    nins: list[str],
    count: int,
    concurrency: int,
    series: Series,
) -> None:
    queue = [nins[i % len(nins)] for i in range(count)]
    position = 0

    async def worker() -> None:
        nonlocal position
        while position < len(queue):
            nin = queue[position]
            position += 1
            started = time.perf_counter()
            response = await client.post(**make(nin))
            series.latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or b'"errors"' in response.content[:200]:
                series.errors += 1

    started, cpu = time.perf_counter(), cpu_clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    series.seconds += time.perf_counter() - started
    series.cpu_seconds += cpu_clock() - cpu


async def measure(
    client: httpx.AsyncClient,
    nins: list[str],
    *,
    requests: int,
    concurrency: int,
    rounds: int = 4,
    warmup: int = 10,
    cpu_clock: Callable[[], float] = time.process_time,
) -> dict[str, Any]:
    """Alternating rounds of REST and GraphQL look-ups; throughput and latency of each, and the ratio."""
    achievements = await check_same_data(client, nins[0])
    for make in (rest_request, graphql_request):
        await _burst(cpu_clock, client, make, nins, warmup, concurrency, Series([]))
    rest, graph = Series([]), Series([])
    per_round = max(1, requests // rounds)
    for _ in range(rounds):
        await _burst(cpu_clock, client, rest_request, nins, per_round, concurrency, rest)
        await _burst(cpu_clock, client, graphql_request, nins, per_round, concurrency, graph)
    rest_summary, graph_summary = rest.summary(), graph.summary()
    return {
        "achievements_per_person": achievements,
        "concurrency": concurrency,
        "rest": rest_summary,
        "graphql": graph_summary,
        "ratio": round(graph_summary["rps"] / rest_summary["rps"], 3) if rest_summary["rps"] else None,
        # On a machine shared with other work, CPU per request is steadier than wall-clock throughput.
        "cpu_ratio": round(rest_summary["cpu_ms_per_request"] / graph_summary["cpu_ms_per_request"], 3)
        if rest_summary["cpu_ms_per_request"] and graph_summary["cpu_ms_per_request"]
        else None,
        "goal": 0.7,
    }


def run(
    app: Any,
    nins: list[str],
    token: str,
    *,
    requests: int,
    concurrency: int,
    base_url: str | None = None,
    server_pid: int | None = None,
    rounds: int = 4,
    warmup: int = 10,
) -> dict[str, Any]:
    """Measure against ``app`` in process (ASGI), or against a server at ``base_url``.

    CPU per request is this process's CPU time in process, and the server process's (``server_pid``,
    read from /proc) over TCP; without either it is not reported.
    """
    cpu_clock: Callable[[], float] = time.process_time
    if base_url is not None:
        cpu_clock = (lambda: _process_cpu(server_pid)) if server_pid is not None else (lambda: 0.0)

    async def go() -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        if base_url is not None:
            limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
            client = httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60)
        else:
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers, timeout=60
            )
        async with client:
            return await measure(
                client,
                nins,
                requests=requests,
                concurrency=concurrency,
                rounds=rounds,
                warmup=warmup,
                cpu_clock=cpu_clock,
            )

    return asyncio.run(go())


# --- the command ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=20)
    parser.add_argument("--courses", type=int, default=288)
    parser.add_argument("--organisations", type=int, default=12)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--server", action="store_true", help="uvicorn in a subprocess, over TCP")
    args = parser.parse_args(argv)

    from alembic import command

    from api.app import create_app
    from register import embedded
    from register.database import make_engine, to_libpq
    from register.schema import alembic_config

    admin = to_libpq(os.environ["BENCH_ADMIN_URL"]) if os.environ.get("BENCH_ADMIN_URL") else None
    admin = admin or embedded.start(PROJECT_ROOT / ".register")
    url = _create_database(admin)
    work = Path(tempfile.mkdtemp(prefix="bench-graphql-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        command.upgrade(alembic_config(url), "heads")
        settings = Settings(
            database_url=url,
            allow_synthetic_ids=True,
            environment="development",
            data_dir=work,
            log_level="WARNING",
        )
        engine = make_engine(url, pool_size=args.concurrency + 2)
        seeded = seed(
            engine,
            persons=args.persons,
            courses=args.courses,
            organisations=args.organisations,
            rng=random.Random(7),
        )
        token = issue_dev_token(settings, scopes=["kompetanse:read"], orgnr=synthetic_orgnr(random.Random(3)))
        base_url = None
        app = None
        if args.server:
            server, base_url = _start_server(url, work)
        else:
            app = create_app(settings, engine=engine)
        result = run(
            app,
            seeded.nins,
            token,
            requests=args.requests,
            concurrency=args.concurrency,
            base_url=base_url,
            server_pid=server.pid if server is not None else None,
        )
        result.update(
            {
                "benchmark": "graphql_vs_rest",
                "transport": "tcp (uvicorn)" if args.server else "in-process ASGI",
                "persons": args.persons,
                "organisations": args.organisations,
                "python": sys.version.split()[0],
            }
        )
        print(json.dumps(result, indent=2))
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        _drop_database(admin, url)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _create_database(admin: str) -> str:
    name = f"bench_graphql_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, query = admin.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def _drop_database(admin: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_server(url: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "REGISTER_DATABASE_URL": url,
        "REGISTER_ALLOW_SYNTHETIC_IDS": "true",
        "REGISTER_ENVIRONMENT": "development",
        "REGISTER_DATA_DIR": str(work),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=PROJECT_ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server, f"http://127.0.0.1:{port}"
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the benchmark server did not start within 30 seconds")


if __name__ == "__main__":
    raise SystemExit(main())
