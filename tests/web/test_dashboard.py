"""The analysts' dashboard in a real Chromium: signed in, charts drawn from the API's figures, suppressed
cells shown as suppressed, a table beside each chart, downloads; refused without the statistics scope,
and no development sign-in under production settings.

The data is the showcase demo (one year of a few dozen people per provider, a few seconds to load), not
the analysts' ten years: with the test threshold of 3 it still has years and fields with small cells,
which is what the suppressed marks need.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from api.app import create_app
from api.dashboard.session import COOKIE
from demo.load import load_demo
from register.settings import Settings
from tests.api.conftest import READ, STATS, Token
from tests.browser import LiveServer, serve_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

STATS_URL = "/v1/stats/achievements"


@pytest.fixture
def demo(db: Engine) -> None:
    load_demo(db)


def _sign_in_for_development(page: Page, server: LiveServer, lang: str = "nb") -> None:
    page.goto(server.url(f"/dashboard?lang={lang}"))
    assert page.url.endswith(f"/dashboard/login?lang={lang}")  # no session: sent to sign in
    with page.expect_navigation():
        page.click("#dev-login")


def _api(page: Page, server: LiveServer, query: str, token: str) -> dict[str, Any]:
    answer = page.request.get(
        server.url(f"{STATS_URL}?{query}"), headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 200, answer.text()
    result: dict[str, Any] = answer.json()
    return result


def _shown_cells(answer: dict[str, Any], series_dim: str, years: list[str]) -> list[dict[str, Any]]:
    return [c for c in answer["cells"] if str(c["year"]) in years and c.get(series_dim, "?") != "?"]


def test_the_dashboard_draws_the_apis_figures_with_suppressed_cells_marked(
    demo: None, live_server: LiveServer, page: Page, token: Token, orgs: dict[str, str]
) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    _sign_in_for_development(page, live_server)
    assert page.url.endswith("/dashboard?lang=nb")
    assert page.locator("html").get_attribute("lang") == "nb"
    analyst = token(orgs["analyst"], STATS)

    suppressed_seen = 0
    for key, dim in (("sector", "sector"), ("level", "level"), ("field", "field")):
        svg = page.locator(f"#chart-{key}")
        box = svg.bounding_box()
        assert box is not None and box.get("width", 0) > 100 and box.get("height", 0) > 100
        # A text alternative: the SVG is an image named by its title and described in words.
        assert svg.get_attribute("role") == "img"
        assert page.locator(f"#chart-{key}-title").text_content()
        assert page.locator(f"#chart-{key}-desc").text_content()

        years = [th.strip() for th in page.locator(f"#table-{key} thead th").all_text_contents()[1:]]
        assert years and all(y.isdigit() for y in years)
        answer = _api(page, live_server, f"group_by=year,{dim}", analyst)
        cells = _shown_cells(answer, dim, years)
        expected_series = {str(c[dim]) for c in cells}
        drawn_series = set(svg.locator("g.series").evaluate_all("gs => gs.map(g => g.dataset.series)"))
        if key == "field":  # the heat map's rows are named by their label, the unknown field as such
            expected_series = {s if s != "None" else "ukjent" for s in expected_series}
        assert drawn_series == expected_series

        # Every published cell is drawn, with its value; every suppressed cell is hatched, not drawn.
        published = sorted(c["achievements"] for c in cells if not c["suppressed"])
        hidden = sum(c["suppressed"] for c in cells)
        values = svg.locator(".point").evaluate_all("ps => ps.map(p => Number(p.dataset.value))")
        assert sorted(values) == published
        assert svg.locator(".suppressed").count() == hidden
        assert svg.locator(".point.perturbed").count() == sum(
            c["perturbed"] for c in cells if not c["suppressed"]
        )
        if key != "field":
            lines = svg.locator("polyline.line")
            assert lines.count() >= 1
            assert all(
                len(p.split()) >= 2 for p in lines.evaluate_all("ls => ls.map(l => l.getAttribute('points'))")
            )
        if hidden:
            assert (
                svg.locator(".suppressed")
                .first.evaluate("e => (e.querySelector('rect') || e).getAttribute('fill')")
                .startswith("url(#hatch-")
            )

        # The table beside the chart: one row per series, the suppressed cells marked as such.
        table = page.locator(f"#table-{key}")
        assert table.locator("caption").text_content()
        assert table.locator("tbody tr").count() == len(expected_series)
        assert table.locator("td.suppressed").count() == hidden
        assert set(table.locator("td.suppressed").all_text_contents()) <= {":"}
        suppressed_seen += hidden
        # The legend says what the hatching and the whiskers mean, in words.
        legend = page.locator(f"#panel-{key} .legend")
        assert "færre enn 3 personer" in (legend.locator(".legend-suppressed").text_content() or "")

        formats = page.locator(f"#panel-{key} .downloads a").evaluate_all(
            "as => as.map(a => a.dataset.format)"
        )
        assert formats == ["json", "json-stat", "csv-nb", "csv-en"]

    assert suppressed_seen > 0, "the showcase demo should have small cells at the test threshold"

    # Grade distributions: one bar chart per scale, bars for the published grades.
    grades = _api(page, live_server, "group_by=grade", analyst)
    on_1_6 = [
        c for c in grades["cells"] if (c["grade"] or {}).get("scheme") == "no-1-6" and not c["suppressed"]
    ]
    bars = page.locator("#chart-grade-no-1-6 .point")
    assert bars.count() == len(on_1_6) > 0
    assert page.locator("#table-grade-no-1-6").count() == 1

    # A download is the API's own answer, in every output (JSON, JSON-stat, CSV nb and en).
    for output in ("json", "json-stat", "csv-nb", "csv-en"):
        href = page.locator(f"#panel-sector .downloads a[data-format={output}]").get_attribute("href")
        assert href is not None
        downloaded = page.request.get(live_server.url(href))
        assert downloaded.status == 200, output
        assert "attachment" in downloaded.headers["content-disposition"]
        from_api = page.request.get(
            live_server.url(f"{STATS_URL}?group_by=year,sector&format={output}"),
            headers={"Authorization": f"Bearer {analyst}"},
        )
        assert from_api.status == 200, output
        if output.startswith("csv"):
            assert downloaded.body() == from_api.body(), output
        else:
            assert json.loads(downloaded.body()) == json.loads(from_api.body()), output
    assert errors == []  # no CSP violation, no failed resource


def test_the_dashboard_speaks_english_and_signs_out(demo: None, live_server: LiveServer, page: Page) -> None:
    _sign_in_for_development(page, live_server, lang="en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").text_content() == "Statistics for analysts"
    assert page.locator("#chart-sector .series").count() > 0
    headers = page.context.cookies()
    token_cookie = next(c for c in headers if c["name"] == COOKIE)
    assert token_cookie["httpOnly"] and token_cookie["sameSite"] == "Strict"
    with page.expect_navigation():
        page.click("form.account button")
    assert "/dashboard/login" in page.url
    page.goto(live_server.url("/dashboard?lang=en"))
    assert "/dashboard/login" in page.url  # the session has ended


def test_a_token_without_the_statistics_scope_is_refused(
    live_server: LiveServer, page: Page, token: Token, orgs: dict[str, str]
) -> None:
    reader = token(orgs["portal"], READ)
    page.goto(live_server.url("/dashboard/login?lang=en"))
    page.fill("#token", reader)
    with page.expect_navigation() as navigation:
        page.click("form[action='/dashboard/login'] button")
    response = navigation.value
    assert response is not None and response.status == 403
    assert "kompetanse:stats" in (page.locator("#sign-in-error").text_content() or "")
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
    # Sent by a proxy as a bearer token, the same token opens nothing either.
    direct = page.request.get(live_server.url("/dashboard"), headers={"Authorization": f"Bearer {reader}"})
    assert direct.status == 403
    download = page.request.get(live_server.url("/dashboard/download/sector?format=json"))
    assert download.status == 401


def test_an_analysts_own_token_signs_in(
    live_server: LiveServer, page: Page, token: Token, orgs: dict[str, str]
) -> None:
    page.goto(live_server.url("/dashboard/login?lang=en"))
    page.fill("#token", token(orgs["analyst"], STATS))
    with page.expect_navigation():
        page.click("form[action='/dashboard/login'] button")
    assert page.url.endswith("/dashboard?lang=en")
    assert orgs["analyst"] in (page.locator("form.account span").text_content() or "")


@pytest.fixture
def production_server(db: Engine, api_settings: Settings) -> Iterator[LiveServer]:
    production = api_settings.model_copy(update={"environment": "production", "allow_synthetic_ids": False})
    app: FastAPI = create_app(production, engine=db)
    yield from serve_app(app)


def test_production_offers_no_development_sign_in(production_server: LiveServer, page: Page) -> None:
    page.goto(production_server.url("/dashboard/login"))
    assert page.locator("#token").count() == 1
    assert page.locator("#dev-login").count() == 0
    refused = page.request.post(production_server.url("/dashboard/dev-login"))
    assert refused.status == 404
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
