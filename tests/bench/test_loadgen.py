"""The asyncio load generator against a tiny local HTTP server: counts, statuses and percentiles."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from benchmarks.loadgen import Request, generator_name, percentile, run_load

pytestmark = pytest.mark.bench


@pytest.fixture
def server() -> Iterator[int]:
    """Answers GET /ok with 200 (Content-Length) and anything else with 404 (chunked)."""
    loop = asyncio.new_event_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.startswith(b"GET /ok "):
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                else:
                    writer.write(
                        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nno!\r\n0\r\n\r\n"
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            writer.close()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    srv = asyncio.run_coroutine_threadsafe(asyncio.start_server(handle, "127.0.0.1", 0), loop).result(5)
    yield srv.sockets[0].getsockname()[1]

    async def shut() -> None:
        # Closed on the loop's own thread: a Server is not thread-safe, and close() called from this
        # thread raced the loop detaching the last connection (TypeError in Server._wakeup, at random).
        srv.close()
        await srv.wait_closed()

    asyncio.run_coroutine_threadsafe(shut(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_asyncio_generator_counts_requests_and_errors(server: int) -> None:
    requests = [Request("GET", "/ok"), Request("GET", "/missing")]
    result = run_load("127.0.0.1", server, requests, connections=2, seconds=0.3, warmup=0, generator="python")
    assert result.generator == "python-asyncio"
    assert result.requests > 10
    # Connection 0 sends /ok, connection 1 /missing (round-robin by connection): both kinds counted.
    assert set(result.statuses) == {"200", "404"}
    assert result.errors == result.statuses["404"]
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile([7.0], 0.99) == 7.0


def test_unknown_generator_is_refused() -> None:
    with pytest.raises(ValueError, match="load generator 'ab' is not one of"):
        generator_name("ab")
    assert generator_name("python") == "python-asyncio"
