"""How long fuzzing runs: short in ``make test``, long in ``make fuzz`` (REGISTER_FUZZ_EXAMPLES=20000).

A settings object applied per test (not a global profile), so other property tests keep their own.
Deadlines are off because the machine may be shared and slow; a hang is caught by ``no_hang``.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("REGISTER_FUZZ_EXAMPLES", "60"))
#: one input may take at most this long before it counts as a hang (generous: real inputs take ms)
HANG_SECONDS = 20

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example database: runs leave no files behind and do not depend on earlier ones
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
#: properties that write to the database run a tenth as many examples (each is a whole import)
FUZZ_DATABASE = settings(FUZZ, max_examples=max(20, EXAMPLES // 10))
#: a long run must not be cut off by the suite's default per-test timeout (600 s)
TIMEOUT = pytest.mark.timeout(max(600, EXAMPLES // 10))


class Hang(Exception):
    pass


@contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Fail the example (as ``Hang``) if it runs longer than ``seconds``."""

    def alarm(_signum: int, _frame: object) -> None:
        raise Hang(f"one input took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
