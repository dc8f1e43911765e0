"""The browser harness itself works: Chromium loads a page the live server serves, over real HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_chromium_reads_the_health_endpoint_over_http(live_server: LiveServer, page: Page) -> None:
    response = page.goto(live_server.url("/health"))
    assert response is not None and response.status == 200
    assert "ok" in page.content().lower()
