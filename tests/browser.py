"""Real pages in a real browser: Debian's headless Chromium driven by Playwright, and a live server.

Why Playwright with the system Chromium: Playwright's own browser download needs the network at test
time, which CI machines do not have; Debian's ``chromium`` package is installed by ``.ci/run``, and
Playwright drives any Chromium given its path. Where no Chromium is found the browser tests skip with
a message that says how to get one, so a developer's laptop still runs everything else.

Use in a test module::

    from tests.browser import browser, live_server, page  # noqa: F401  (fixtures)

    def test_something(live_server: LiveServer, page: Page) -> None:
        page.goto(live_server.url("/health"))
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
import uvicorn
from fastapi import FastAPI

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

#: where to look for Chromium, in order: an explicit path, then Debian's and other distributions' names
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
# The flags keep Chromium from reaching for Google's services at start (the test machines have no
# network: without them each start makes dozens of refused connections) and let it run as root.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SKIP_MESSAGE = (
    "browser tests need Chromium: install Debian's `chromium` package (`.ci/run` does) or set"
    " REGISTER_CHROMIUM to a Chromium executable"
)


def chromium_path() -> str | None:
    explicit = os.environ.get("REGISTER_CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(SKIP_MESSAGE)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies, no storage) per test, with one page."""
    context = browser.new_context(locale="nb-NO")
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass(frozen=True)
class LiveServer:
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_app(app: FastAPI) -> Iterator[LiveServer]:
    """Serve ``app`` over real HTTP on a free loopback port in a thread, for as long as the generator."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    """The test's ``app`` fixture (tests/api/conftest.py) served over real HTTP, lifespan included."""
    yield from serve_app(app)
