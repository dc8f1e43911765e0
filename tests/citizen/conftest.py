"""The citizen's pages over real HTTP: the app on a live server (the login's back channel to the test
identity provider is a real HTTP request to the same server), a person with results, and the test
IdP's non-interactive login (docs/citizen.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from html import unescape

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from tests.api.conftest import *  # noqa: F403  (the app, settings, token and organisation fixtures)
from tests.api.rows import Spec, add_achievement, new_batch, new_person
from tests.browser import LiveServer, serve_app
from tests.factories import new_nin


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    yield from serve_app(app)


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.base_url, follow_redirects=False, timeout=30) as client:
        yield client


@pytest.fixture
def citizen(db: Engine, orgs: dict[str, str]) -> str:
    """A person with a degree of two courses and a vocational result; returns the national id."""
    nin = new_nin(17)
    with db.begin() as conn:
        person = new_person(conn, nin, "Kari", "Nordmann")
        batch = new_batch(conn, orgs["own"])
        degree = add_achievement(
            conn, person_id=person, batch_id=batch, provider_orgnr=orgs["own"],
            spec=Spec("BIT", kind="qualification"), kind="degree", grade=None, credits=None,
        )  # fmt: skip
        for code in ("INF100", "INF200"):
            add_achievement(
                conn, person_id=person, batch_id=batch, provider_orgnr=orgs["own"], spec=Spec(code),
                part_of=degree, grade=("a-f", "B", True),
            )  # fmt: skip
        add_achievement(
            conn, person_id=person, batch_id=batch, provider_orgnr=orgs["own"],
            spec=Spec("EL-1", nkr_level="5.1"), sector="vocational", credits=Decimal("7.5"),
            credit_scheme="fagskolepoeng",
        )  # fmt: skip
    return nin


def form_fields(html: str) -> dict[str, str]:
    """The named inputs of a page's (first) form with their values."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    return fields


def start_login(http: httpx.Client) -> str:
    """/me/login/start → the test IdP's authorization URL (the login's session cookie is kept)."""
    started = http.get("/me/login/start")
    assert started.status_code == 303, started.text
    return started.headers["location"]


def idp_answer(http: httpx.Client, authorize_url: str, pid: str, acr: str | None = None) -> str:
    """The test IdP's non-interactive mode: GET its form, POST it back with the pid; → callback URL."""
    form = http.get(authorize_url)
    assert form.status_code == 200, form.text
    fields = form_fields(form.text)
    fields.pop("acr", None)
    fields["pid"] = pid
    if acr:
        fields["acr"] = acr
    answer = http.post("/test-idp/authorize", data=fields)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


def log_in(http: httpx.Client, pid: str, acr: str | None = None) -> httpx.Response:
    """The whole login; returns the callback's answer (303 to /me when it worked)."""
    return http.get(idp_answer(http, start_login(http), pid, acr))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)
