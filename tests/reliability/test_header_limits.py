"""Request heads are bounded by the server itself: 64 MiB of headers were read into memory before
authentication (+54 MB RSS). Against a real ``register serve`` on 127.0.0.1, over raw sockets, so that
no client library shortens or refuses what an attacker would send."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from api.limits import MAX_HEAD_BYTES, MAX_HEADERS
from tests.reliability.server import Served

pytestmark = pytest.mark.slow

MiB = 1024 * 1024


def _send_head(served: Served, head: bytes, *, chunk: int = 64 * 1024) -> bytes:
    """Send ``head`` (and the blank line) as a GET; the server's answer (empty if it hung up first)."""
    url = urlsplit(served.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        data = b"GET /v1/batches HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n"
        try:
            for start in range(0, len(data), chunk):
                sock.sendall(data[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused part-way: the answer is already waiting (or the connection is gone)
        answer = b""
        try:
            while part := sock.recv(65536):
                answer += part
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def test_a_huge_header_is_refused_before_it_is_buffered(served: Served) -> None:
    before = served.peak_rss_bytes()
    for _ in range(4):  # 4 × 16 MiB: the attack that cost +54 MB RSS
        answer = _send_head(served, b"X-Pad: " + b"a" * (16 * MiB) + b"\r\n")
        assert _status(answer) in (431, 0), answer[:200]
    grown = served.peak_rss_bytes() - before
    assert grown < 8 * MiB, f"the server's peak memory grew by {grown / MiB:.1f} MiB"
    assert served.alive()


def test_a_head_just_past_the_limit_is_431_and_one_within_it_reaches_the_app(served: Served) -> None:
    past = _send_head(served, b"X-Pad: " + b"a" * MAX_HEAD_BYTES + b"\r\n")
    assert _status(past) == 431, past[:200]
    # 20 KiB of headers (a long token and more) is under the bound: the app answers, here 401.
    within = _send_head(served, b"Authorization: Bearer " + b"a" * (20 * 1024) + b"\r\nConnection: close\r\n")
    assert _status(within) == 401, within[:200]
    assert b"token.malformed" in within


def test_too_many_header_lines_are_431(served: Served) -> None:
    lines = b"".join(b"X-H%d: 1\r\n" % i for i in range(MAX_HEADERS + 5))
    answer = _send_head(served, lines)
    assert _status(answer) == 431, answer[:200]
    ordinary = b"".join(b"X-H%d: 1\r\n" % i for i in range(20)) + b"Connection: close\r\n"
    assert _status(_send_head(served, ordinary)) == 401
    assert served.alive()
