"""The citizen's "Put in my wallet": the offer page (QR code, link, transaction code) and a wallet that
redeems it — the page is the start of the OpenID4VCI flow tests/wallet holds to the standard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, text

from api.app import create_app
from register.settings import Settings
from tests.browser import serve_app
from tests.citizen.conftest import csrf_of, log_in
from tests.citizen.test_pages import _achievements
from tests.wallet.conftest import Wallet, parse_offer


def _offer_page(http: httpx.Client, achievement: str) -> httpx.Response:
    page = http.get("/me").text
    return http.post("/me/wallet/offer", data={"csrf": csrf_of(page), "achievement": achievement})


def test_the_offer_page_shows_a_qr_code_a_link_and_the_transaction_code(
    http: httpx.Client, app: FastAPI, api_settings: Settings, citizen: str, db: Engine
) -> None:
    log_in(http, citizen)
    course = _achievements(db)["INF100"]
    answer = _offer_page(http, course)
    assert answer.status_code == 200, answer.text
    html = answer.text
    svg = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg is not None, "no inline QR code"
    etree.fromstring(svg.group().encode())  # well-formed SVG, drawn on the server
    assert "<script" not in html
    link = unescape(re.search(r'class="offer-link" href="([^"]+)"', html).group(1))  # type: ignore[union-attr]
    offer = parse_offer(link)
    tx_code = re.search(r'class="tx-code">(\d{6})<', html).group(1)  # type: ignore[union-attr]
    assert tx_code not in link  # the code travels beside the QR code, never in it

    # a wallet redeems what the page showed, and gets the chosen result
    wallet = Wallet(TestClient(app))
    grant = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    assert wallet.token(grant["pre-authorized_code"], tx_code).status_code == 200
    proof = wallet.proof(wallet.nonce(), claims={"aud": api_settings.wallet_issuer_url})
    issued = wallet.credential(
        {"credential_configuration_id": offer["credential_configuration_ids"][0], "proofs": {"jwt": [proof]}}
    )
    assert issued.status_code == 200, issued.text
    with db.connect() as conn:
        offered = conn.execute(
            text("SELECT details FROM audit_event WHERE action = 'wallet.offer_created'")
        ).scalar_one()
    assert offered["achievement_ids"] == [course]


def test_the_offer_needs_its_csrf_token_and_the_persons_own_result(
    http: httpx.Client, citizen: str, db: Engine
) -> None:
    log_in(http, citizen)
    course = _achievements(db)["INF100"]
    forged = http.post("/me/wallet/offer", data={"csrf": "forged", "achievement": course})
    assert forged.status_code == 403
    someone_elses = "00000000-0000-4000-8000-000000000000"
    refused = _offer_page(http, someone_elses)
    assert refused.status_code == 422 and "wallet.achievement_unknown" in refused.text
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM wallet_offer")).scalar_one() == 0


@pytest.fixture
def no_wallet(db: Engine, api_settings: Settings) -> Iterator[httpx.Client]:
    app = create_app(api_settings.model_copy(update={"wallet_enabled": False}), engine=db)
    for live in serve_app(app):
        with httpx.Client(base_url=live.base_url, follow_redirects=False, timeout=30) as client:
            yield client


def test_no_button_and_no_offer_where_issuance_is_off(no_wallet: httpx.Client, citizen: str) -> None:
    log_in(no_wallet, citizen)
    page = no_wallet.get("/me").text
    assert "/me/wallet/offer" not in page
    assert no_wallet.post("/me/wallet/offer", data={"csrf": csrf_of(page)}).status_code in (404, 405)
