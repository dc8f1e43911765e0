"""/docs, /redoc and /graphiql: the package's own assets, a strict CSP, and in a real Chromium every
viewer renders with no request leaving the server and no CSP violation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.docs_ui import ASSETS
from register.settings import Settings
from tests.browser import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

PAGES = ("/docs", "/redoc", "/graphiql")


def test_pages_name_only_their_own_assets_and_send_a_csp(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp, path
        assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{path} has an inline script"
        assert not re.search(r"(src|href)=\"https?://", html), f"{path} loads from another origin"
        for asset in re.findall(r"(?:src|href)=\"(/docs-assets/[^\"]+)\"", html):
            assert client.get(asset).status_code == 200, asset
        assert '<html lang="en">' in html and "<noscript>" in html


def test_licences_are_shipped_beside_the_assets(client: TestClient) -> None:
    for licence, words in {
        "swagger-ui/LICENSE.txt": "Apache License",
        "redoc/LICENSE.txt": "MIT",
        "graphiql/LICENSE.txt": "MIT",
        "graphiql/react.LICENSE.txt": "MIT",
        "graphiql/react-dom.LICENSE.txt": "MIT",
    }.items():
        response = client.get(f"{ASSETS}/{licence}")
        assert response.status_code == 200, licence
        assert words in response.text, licence


def test_no_graphiql_where_introspection_is_off(db: Engine, api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"graphql_introspection": False})
    with TestClient(create_app(settings, engine=db), raise_server_exceptions=False) as client:
        assert client.get("/graphiql").status_code == 404
        assert client.get("/docs").status_code == 200


@dataclass
class Recorded:
    """Every URL a page requested, each answer of 400 or more, and every console line about the CSP."""

    requests: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def only_own_origin(self, live_server: LiveServer) -> None:
        assert self.requests, "the page made no request at all"
        # blob: URLs of the page's own origin are the workers ReDoc and GraphiQL start from their bundle
        own = (live_server.base_url + "/", f"blob:{live_server.base_url}/", "data:")
        assert [url for url in self.requests if not url.startswith(own)] == []
        assert self.violations == []


@pytest.fixture
def recorded(page: Page) -> Recorded:
    seen = Recorded()
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on(
        "response",
        lambda response: (
            seen.failures.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            seen.violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_swagger_ui_renders_every_operation_offline(
    live_server: LiveServer, page: Page, recorded: Recorded, app: FastAPI
) -> None:
    page.goto(live_server.url("/docs"))
    page.wait_for_selector(".opblock-summary", timeout=30_000)
    operations = sum(1 for item in app.openapi()["paths"].values() for _ in item)
    assert page.locator(".opblock-summary").count() == operations
    assert page.get_by_text("/v1/persons/lookup", exact=True).count() >= 1
    recorded.only_own_origin(live_server)
    assert live_server.url("/openapi.json") in recorded.requests
    assert recorded.failures == []


def test_redoc_renders_offline(live_server: LiveServer, page: Page, recorded: Recorded) -> None:
    page.goto(live_server.url("/redoc"))
    page.wait_for_selector("h2:has-text('A person and all their valid achievements, nested')", timeout=30_000)
    page.wait_for_load_state("networkidle")
    recorded.only_own_origin(live_server)
    assert recorded.failures == []


def test_graphiql_loads_offline(live_server: LiveServer, page: Page, recorded: Recorded) -> None:
    page.goto(live_server.url("/graphiql"))
    page.wait_for_selector(".graphiql-container", timeout=30_000)
    page.wait_for_load_state("networkidle")
    recorded.only_own_origin(live_server)
    # GraphiQL asks for the schema at once, with the placeholder token of its Headers tab: refused as
    # any request without a valid token is, and the only request that fails.
    assert set(recorded.failures) <= {f"401 {live_server.url('/graphql')}"}
    assert page.get_by_text("Headers").count() >= 1
