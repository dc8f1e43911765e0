"""A real ``register serve`` process for the fault and hostile-input tests, and what they ask of it.

The server runs as a child process (``python -m cli serve``) on a free port, in development mode
with its own data directory; tests sign development tokens with the same key the server trusts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from register.settings import Settings
from register.tokens import ensure_dev_key, issue_dev_token

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READ, WRITE, STATS, ADMIN = "kompetanse:read", "kompetanse:write", "kompetanse:stats", "kompetanse:admin"
#: how long a server may take to answer /health after it was started
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def register_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a register child process: this test database, development mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTER_")}
    env.update(
        {
            "REGISTER_DATABASE_URL": database_url,
            "REGISTER_ENVIRONMENT": "development",
            "REGISTER_DATA_DIR": str(data_dir),
            "REGISTER_ALLOW_SYNTHETIC_IDS": "true",
            "REGISTER_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@dataclass
class Served:
    """One running ``register serve``."""

    process: subprocess.Popen[bytes]
    base_url: str
    settings: Settings
    log_path: Path

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def token(self, orgnr: str, *scopes: str, **kwargs: Any) -> str:
        return issue_dev_token(self.settings, scopes=list(scopes), orgnr=orgnr, **kwargs)

    def headers(self, orgnr: str, *scopes: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(orgnr, *scopes)}", **extra}

    def alive(self) -> bool:
        if self.process.poll() is not None:
            return False
        try:
            return httpx.get(f"{self.base_url}/health", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False

    def peak_rss_bytes(self) -> int:
        """The server's peak resident memory so far (VmHWM), the worker process included."""
        peak = _vm_hwm(self.process.pid)
        for child in _children(self.process.pid):
            peak = max(peak, _vm_hwm(child))
        return peak

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine loses power."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_server(database_url: str, data_dir: Path, env: Mapping[str, str] | None = None) -> Served:
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=database_url, data_dir=data_dir, environment="development")
    ensure_dev_key(settings)  # made here, before the server reads it
    port = free_port()
    log_path = data_dir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=register_env(database_url, data_dir, **(env or {})),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill reaches uvicorn's workers too
        )
    served = Served(process, f"http://127.0.0.1:{port}", settings, log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not served.alive():
        if process.poll() is not None or time.monotonic() > deadline:
            served.kill()
            raise RuntimeError(f"register serve did not start:\n{served.log()}")
        time.sleep(0.2)
    return served


def _vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def wait_for(predicate: Any, *, timeout: float, interval: float = 0.05, what: str = "a condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def count_achievements(body: Mapping[str, Any]) -> int:
    """Achievements in a look-up answer, the nested parts included."""

    def walk(items: list[Mapping[str, Any]]) -> int:
        return sum(1 + walk(list(a.get("parts") or [])) for a in items)

    return walk(list(body.get("achievements") or []))
