"""The citizen login: the authorization code flow with PKCE, state and nonce against the test IdP, and
each way it must refuse (state, nonce, PKCE, acr, an expired ID token, a replayed code)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text

from register.settings import Settings
from tests.citizen.conftest import csrf_of, idp_answer, log_in, start_login


def test_login_through_the_test_idp_reaches_my_results(http: httpx.Client, citizen: str, db: Engine) -> None:
    authorize = urlsplit(start_login(http))
    query = parse_qs(authorize.query)
    # What ID-porten requires of the request: PKCE S256, state, nonce and the level of assurance.
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["acr_values"] == ["idporten-loa-substantial"]
    assert citizen not in authorize.query
    callback = http.get(idp_answer(http, authorize.geturl(), citizen))
    assert (callback.status_code, callback.headers["location"]) == (303, "/me")
    cookie = callback.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = http.get("/me")
    assert page.status_code == 200
    assert "INF100" in page.text and "EL-1" in page.text and "Kari" in page.text
    assert citizen not in page.text
    # The session holds the internal person id, never the national id.
    with db.connect() as conn:
        stored = conn.execute(text("SELECT person_id, login FROM citizen_session")).all()
    assert len(stored) == 1 and stored[0].person_id is not None and stored[0].login is None


def test_login_session_is_renewed_and_logout_ends_it(http: httpx.Client, citizen: str) -> None:
    before = http.get("/me/login/start").cookies.get("kr_session")
    http.cookies.clear()
    log_in(http, citizen)
    after = http.cookies.get("kr_session")
    assert after and after != before
    page = http.get("/me")
    stolen = dict(http.cookies)
    out = http.post("/me/logout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    # The test IdP ends its session too and sends the browser back to the login page.
    back = http.get(out.headers["location"])
    assert back.status_code == 303 and back.headers["location"].endswith("/me/login?logged_out=1")
    # A copy of the cookie taken before logging out opens nothing afterwards.
    again = httpx.get(http.base_url.join("/me"), cookies=stolen)
    assert again.status_code == 303 and again.headers["location"] == "/me/login"


def test_state_mismatch_is_refused(http: httpx.Client, citizen: str) -> None:
    callback = urlsplit(idp_answer(http, start_login(http), citizen))
    query = parse_qs(callback.query)
    forged = http.get("/me/login/callback", params={"code": query["code"][0], "state": "forged"})
    assert forged.status_code == 400 and "citizen.login_state_mismatch" in forged.text
    # The login's state was used up: the real answer now finds no login under way.
    late = http.get(callback.path + "?" + callback.query)
    assert late.status_code == 400 and "citizen.login_expired" in late.text
    assert http.get("/me").status_code == 303


def test_callback_without_a_login_under_way_is_refused(http: httpx.Client) -> None:
    answer = http.get("/me/login/callback", params={"code": "x", "state": "y"})
    assert answer.status_code == 400 and "citizen.login_expired" in answer.text


def test_pkce_verifier_mismatch_is_refused(http: httpx.Client, citizen: str, db: Engine) -> None:
    callback = idp_answer(http, start_login(http), citizen)
    with db.begin() as conn:  # the verifier kept for the login no longer fits the challenge sent
        conn.execute(text("UPDATE citizen_session SET login = jsonb_set(login, '{verifier}', '\"x\"')"))
    answer = http.get(callback)
    assert answer.status_code == 400 and "citizen.login_token_refused" in answer.text
    assert http.get("/me").status_code == 303


def test_a_code_is_used_once(http: httpx.Client, app: FastAPI, citizen: str) -> None:
    callback = idp_answer(http, start_login(http), citizen)
    assert http.get(callback).status_code == 303
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert app.state.test_idp.redeem(code) is None


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"nonce": "another"}, "citizen.login_id_token_invalid"),
        ({"exp_offset": -600}, "citizen.login_id_token_invalid"),
        ({"aud": "someone-else"}, "citizen.login_id_token_invalid"),
        ({"iss": "https://idporten.example"}, "citizen.login_id_token_invalid"),
        ({"pid": None}, "citizen.login_id_token_invalid"),
    ],
)
def test_bad_id_tokens_are_refused(
    http: httpx.Client, app: FastAPI, citizen: str, override: dict, code: str
) -> None:
    overrides = {k: v for k, v in override.items() if v is not None}
    app.state.test_idp.overrides.update(overrides)
    if "pid" in override:
        app.state.test_idp.overrides["pid"] = 12345  # not a string: as if absent
    answer = log_in(http, citizen)
    assert answer.status_code == 400 and code in answer.text
    assert citizen not in answer.text
    assert http.get("/me").status_code == 303


def test_a_level_below_substantial_is_refused(http: httpx.Client, citizen: str) -> None:
    answer = log_in(http, citizen, acr="idporten-loa-low")
    assert answer.status_code == 400 and "citizen.login_acr_too_low" in answer.text
    assert log_in(http, citizen, acr="idporten-loa-high").status_code == 303


def test_a_person_the_register_does_not_hold_logs_in_to_an_empty_page(http: httpx.Client, db: Engine) -> None:
    from tests.factories import new_nin

    assert log_in(http, new_nin(99)).status_code == 303
    page = http.get("/me")
    assert page.status_code == 200 and "ingen resultater" in page.text


def test_production_settings_refuse_the_test_idp(database_url: str) -> None:
    with pytest.raises(ValueError, match="CITIZEN_TEST_IDP"):
        Settings(
            environment="production",
            database_url=database_url,
            jwt_issuers=["x"],
            jwks_files=["/dev/null"],
            allow_synthetic_ids=False,
            citizen_test_idp=True,
        )
    production = Settings(
        environment="production",
        database_url=database_url,
        jwt_issuers=["x"],
        jwks_files=["/dev/null"],
        allow_synthetic_ids=False,
    )
    assert not production.test_idp_enabled


def test_production_app_has_no_test_idp(db: Engine, api_settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = api_settings.model_copy(update={"citizen_test_idp": False})
    with TestClient(create_app(settings, engine=db)) as client:
        assert client.get("/test-idp/.well-known/openid-configuration").status_code == 404
        start = client.get("/me/login/start", follow_redirects=False)
        assert start.status_code == 400 and "citizen.login_not_configured" in start.text


def test_a_login_returns_only_to_the_registers_own_person_pages() -> None:
    from api.citizen.login import return_path

    assert return_path("/oots/preview/abc_DEF-123") == "/oots/preview/abc_DEF-123"
    assert return_path("/me/share") == "/me/share"
    for elsewhere in (
        "https://evil.example/",
        "//evil.example/me",
        "/oots/v2/query",
        "/me\\@evil",
        "/me/\n",
        None,
    ):
        assert return_path(elsewhere) is None, elsewhere
