"""The citizen's pages in a real browser: log in through the test identity provider, see my results,
see an organisation's read appear in the view log, create and revoke a share link."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

from tests.api.conftest import READ, Token, bearer
from tests.browser import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _log_in(page: Page, live_server: LiveServer, nin: str) -> None:
    page.goto(live_server.url("/me"))
    page.get_by_role("link", name="Logg inn med ID-porten").click()
    page.get_by_label("Synthetic national identity number (11 digits)").fill(nin)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url("/me"))


def test_log_in_see_results_and_the_view_log(
    live_server: LiveServer, page: Page, citizen: str, client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    _log_in(page, live_server, citizen)
    assert page.get_by_role("heading", level=1).inner_text() == "Mine resultater"
    assert page.get_by_text("INF100").count() >= 1
    assert citizen not in page.content()

    page.get_by_role("link", name="Hvem har sett mine opplysninger").click()
    assert page.get_by_text("Ingen andre har sett opplysningene dine.").is_visible()
    looked = client.post(
        "/v1/persons/lookup", json={"nin": citizen}, headers=bearer(token(orgs["portal"], READ))
    )
    assert looked.status_code == 200
    page.reload()
    row = page.get_by_role("row").filter(has_text="Sikt (Vitnemålsportalen)")
    assert row.count() == 1 and "Oppslag av resultatene dine" in row.inner_text()

    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Who has looked at my data"


def test_create_and_revoke_a_share_link(live_server: LiveServer, page: Page, citizen: str) -> None:
    _log_in(page, live_server, citizen)
    page.get_by_role("link", name="Delingslenker").click()
    page.get_by_label("INF100", exact=False).check()
    page.get_by_label("Navn på lenken (valgfritt)").fill("Jobbsøknad")
    page.get_by_role("button", name="Lag delingslenke").click()
    url = page.get_by_label("Lenken", exact=True).input_value()
    assert "/shared/" in url

    reader = page.context.browser.new_context()  # someone else, without the citizen's session
    other = reader.new_page()
    other.goto(url)
    assert other.get_by_role("heading", level=1).inner_text() == "Delte resultater"
    assert other.get_by_text("INF100").count() >= 1 and other.get_by_text("EL-1").count() == 0

    page.goto(live_server.url("/me/share"))
    row = page.get_by_role("row").filter(has_text="Jobbsøknad")
    row.get_by_role("button", name="Trekk tilbake").click()
    assert "trukket tilbake" in page.get_by_role("row").filter(has_text="Jobbsøknad").inner_text()
    gone = other.goto(url)
    assert gone is not None and gone.status == 410
    reader.close()

    page.get_by_role("link", name="Hvem har sett mine opplysninger").click()
    assert page.get_by_text("Åpnet en av delingslenkene dine").is_visible()


def test_put_a_result_in_the_wallet_shows_a_qr_code_and_the_code(
    live_server: LiveServer, page: Page, citizen: str
) -> None:
    _log_in(page, live_server, citizen)
    # each button names its result for screen readers: "Legg i lommeboken: <title> (<code>)"
    page.get_by_role("button", name=re.compile(r"^Legg i lommeboken: .*\(INF100\)$")).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Legg resultatet i lommeboken"
    qr = page.get_by_role("img", name="QR-kode", exact=False)
    box = qr.locator("svg").bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100  # drawn, and big enough to scan
    assert page.locator(".tx-code").inner_text().isdigit()
    assert page.locator("a.offer-link").get_attribute("href").startswith("openid-credential-offer://")  # type: ignore[union-attr]
