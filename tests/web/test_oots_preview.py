"""The OOTS preview in a real browser with JavaScript off: log in through the citizen login (the test
identity provider), come back to the preview, see the evidence, approve — and the page breaks no rule
of its Content-Security-Policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import Engine

from register.settings import Settings
from tests.api.oots_requests import EBRS, OOTS, edm_request, person_with_results
from tests.browser import LiveServer
from tests.factories import new_nin

if TYPE_CHECKING:
    from playwright.sync_api import Browser

BASE = "https://register.test"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"oots_public_base_url": BASE})


def test_preview_and_approve_without_javascript(
    live_server: LiveServer, browser: Browser, token, orgs: dict[str, str], db: Engine, api_settings: Settings
) -> None:
    nin = new_nin()
    person_with_results(db, api_settings, orgs["own"], nin)
    answer = httpx.post(
        live_server.url("/oots/v2/query"),
        content=edm_request(identifier=f"NO/FR/{nin}"),
        headers={"Authorization": f"Bearer {token(orgs['portal'], OOTS)}", "content-type": EBRS},
    )
    location = answer.text.split("<rim:Value>" + BASE, 1)[1].split("</rim:Value>", 1)[0]
    context = browser.new_context(java_script_enabled=False, locale="nb-NO")
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else None,
    )
    try:
        page.goto(live_server.url(location))
        # the citizen login (the test identity provider in development), and back to the preview
        page.get_by_role("link", name="Logg inn").click()
        page.get_by_label("Synthetic national identity number (11 digits)").fill(nin)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(live_server.url(location))
        assert page.get_by_role("heading", level=1).inner_text().startswith("Forhåndsvis")
        assert page.locator("table caption").first.inner_text() == "Fagskolen Innlandet"
        assert page.get_by_role("cell", name="Emne 1").count() == 1
        page.get_by_role("button", name="Godkjenn og send").click()
        assert "Du godkjente forespørselen" in page.get_by_role("status").inner_text()
        page.get_by_role("link", name="English").click()
        assert "You approved the request" in page.get_by_role("status").inner_text()
        assert page.locator("html").get_attribute("lang") == "en"
        assert violations == []
    finally:
        context.close()
