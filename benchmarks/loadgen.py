"""HTTP load: wrk with a Lua script when ``wrk`` is on PATH, else an asyncio generator over keep-alive
connections. Both report requests per second and latency percentiles in milliseconds.

The asyncio generator speaks just enough HTTP/1.1 for this server (Content-Length or chunked bodies,
keep-alive) with pre-encoded requests, so its own cost per request is small — but it runs in Python on
the same machine as the server, so at high rates it is itself part of what limits the ceiling: the
results say which generator ran.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class LoadResult:
    generator: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "statuses": self.statuses,
        }


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


GENERATORS = ("auto", "wrk", "python")


def generator_name(choice: str = "auto") -> str:
    """The generator that ``choice`` means here: ``wrk`` if asked for or (auto) on PATH, else asyncio."""
    if choice not in GENERATORS:
        raise ValueError(f"load generator {choice!r} is not one of {', '.join(GENERATORS)}")
    if choice == "wrk" or (choice == "auto" and shutil.which("wrk")):
        return "wrk"
    return "python-asyncio"


def run_load(
    host: str,
    port: int,
    requests: list[Request],
    *,
    connections: int,
    seconds: float,
    warmup: float = 1.0,
    generator: str = "auto",
) -> LoadResult:
    """Send ``requests`` round-robin over ``connections`` keep-alive connections for ``seconds``."""
    if not requests:
        raise ValueError("no requests to send")
    if generator_name(generator) == "wrk":
        return _run_wrk(host, port, requests, connections=connections, seconds=seconds, warmup=warmup)
    return asyncio.run(_run_asyncio(host, port, requests, connections, seconds, warmup))


# --- asyncio ----------------------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _run_asyncio(
    host: str, port: int, requests: list[Request], connections: int, seconds: float, warmup: float
) -> LoadResult:
    encoded = [r.encode(f"{host}:{port}") for r in requests]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    measuring = False

    async def worker(offset: int, deadline: float) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        index = offset
        try:
            while time.perf_counter() < deadline:
                payload = encoded[index % len(encoded)]
                index += connections
                started = time.perf_counter()
                writer.write(payload)
                status = await _read_response(reader)
                if measuring:
                    latencies.append(time.perf_counter() - started)
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
                    if status >= 400:
                        errors += 1
        finally:
            writer.close()

    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        pass
    if warmup > 0:
        await asyncio.gather(*(worker(n, time.perf_counter() + warmup) for n in range(connections)))
    measuring = True
    started = time.perf_counter()
    await asyncio.gather(*(worker(n, started + seconds) for n in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        generator="python-asyncio",
        requests=len(ordered),
        errors=errors,
        seconds=elapsed,
        rps=len(ordered) / elapsed if elapsed else 0.0,
        p50_ms=percentile(ordered, 0.50) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        max_ms=(ordered[-1] if ordered else math.nan) * 1000,
        statuses=statuses,
    )


# --- wrk --------------------------------------------------------------------------------------------

_WRK_SCRIPT = """
local requests = {%(requests)s}
local n = 0
request = function()
  n = n + 1
  return requests[(n %% #requests) + 1]
end
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  io.write("WRK-JSON ")
  io.write(string.format('{"requests": %%d, "seconds": %%f, "p50_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"non2xx": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
"""


def _lua_string(value: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " :/{}[],._-" else f"\\{ord(c):03d}" for c in value) + '"'


def _run_wrk(
    host: str, port: int, requests: list[Request], *, connections: int, seconds: float, warmup: float
) -> LoadResult:
    entries = []
    for r in requests:
        headers = "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in r.headers) + "}"
        body = _lua_string(r.body.decode("utf-8")) if r.body else "nil"
        entries.append(f"wrk.format({_lua_string(r.method)}, {_lua_string(r.path)}, {headers}, {body})")
    script = _WRK_SCRIPT % {"requests": ",\n".join(entries)}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.lua"
        path.write_text(script)
        base = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-s", str(path), "--latency"]
        if warmup > 0:
            subprocess.run(
                [*base, "-d", f"{max(1, round(warmup))}s", f"http://{host}:{port}"],
                capture_output=True,
                check=True,
            )
        done = subprocess.run(
            [*base, "-d", f"{max(1, round(seconds))}s", f"http://{host}:{port}"],
            capture_output=True,
            check=True,
            text=True,
        )
    line = next(line for line in done.stdout.splitlines() if line.startswith("WRK-JSON "))
    data = json.loads(line[len("WRK-JSON ") :])
    return LoadResult(
        generator="wrk",
        requests=data["requests"],
        errors=data["non2xx"] + data["errors"],
        seconds=data["seconds"],
        rps=data["requests"] / data["seconds"] if data["seconds"] else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
