"""The memory benchmark measures the importing process, not the benchmark that started it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.importfile import own_peak_rss_mb

HELD_MB = 300  # what the parent holds when it starts the child: a benchmark that built a population

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")


def test_a_child_reports_its_own_peak_not_its_parents() -> None:
    held = bytearray(HELD_MB * 2**20)
    held[::4096] = b"\1" * len(range(0, len(held), 4096))  # touched: resident, not just reserved
    assert own_peak_rss_mb() >= HELD_MB
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json, resource; from benchmarks.importfile import own_peak_rss_mb; "
            "print(json.dumps([own_peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))",
        ],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # as benchmarks.run reaps it
    child.returncode = os.waitstatus_to_exitcode(status)
    del held
    own, ru_maxrss_kb = json.loads(output)
    # The pitfall the benchmark fell into: the child's ru_maxrss, its own or wait4's, carries the
    # parent's memory over exec.
    assert ru_maxrss_kb / 1024 >= HELD_MB
    assert usage.ru_maxrss / 1024 >= HELD_MB
    assert own < HELD_MB / 2
