"""What the citizen's side keeps out of reach: the national id in logs and URLs, cookies over https,
and a signed ELMO download that an independent verifier accepts."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from signxml import XMLVerifier
from sqlalchemy import Engine

from register.settings import Settings, get_settings
from tests.browser import LiveServer, serve_app
from tests.citizen.conftest import csrf_of, idp_answer, log_in, start_login
from tests.importers.higher.helpers import signing_identity


def test_the_national_id_is_in_no_log_line_and_no_url(
    http: httpx.Client, citizen: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen_urls: list[str] = []
    http.event_hooks["request"] = [lambda request: seen_urls.append(str(request.url))]
    with caplog.at_level(logging.DEBUG):
        authorize = start_login(http)
        callback = idp_answer(http, authorize, citizen)
        http.get(callback)
        page = http.get("/me")
        http.get("/me/views")
        http.post("/me/logout", data={"csrf": csrf_of(page.text)})
    assert len(seen_urls) >= 6
    assert not [url for url in seen_urls if citizen in url]
    assert caplog.records and citizen not in caplog.text


def test_over_https_the_session_cookie_is_secure_and_host_bound(
    http: httpx.Client, app: FastAPI, live: LiveServer, citizen: str
) -> None:
    # uvicorn trusts X-Forwarded-Proto from loopback, as behind the production proxy. The back channel
    # cannot speak https here, so the provider's metadata is handed over under the https issuer.
    client = app.state.citizen_oidc
    plain = client.metadata(live.base_url + "/test-idp")
    https_issuer = live.base_url.replace("http://", "https://") + "/test-idp"
    client._metadata[https_issuer] = dataclasses.replace(plain, issuer=https_issuer)
    started = http.get("/me/login/start", headers={"X-Forwarded-Proto": "https"})
    assert started.status_code == 303
    cookie = started.headers["set-cookie"]
    assert cookie.startswith("__Host-kr_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "SameSite=lax" in cookie
    plain_start = http.get("/me/login/start")
    assert "secure" not in plain_start.headers["set-cookie"].lower()


@pytest.fixture
def signing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path, bytes]]:
    identity = signing_identity(common_name="Kompetanseregisteret (test)")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    key.write_bytes(identity.key_pem)
    cert.write_bytes(identity.cert_pem)
    # The export signs with the process's settings, as `register export elmo --sign` does.
    monkeypatch.setenv("REGISTER_ELMO_SIGNING_KEY_PATH", str(key))
    monkeypatch.setenv("REGISTER_ELMO_SIGNING_CERT_PATH", str(cert))
    get_settings.cache_clear()
    yield key, cert, identity.cert_pem
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_elmo_download_is_signed_when_a_key_is_configured(
    db: Engine, api_settings: Settings, citizen: str, signing: tuple[Path, Path, bytes]
) -> None:
    from api.app import create_app

    key, cert, cert_pem = signing
    settings = api_settings.model_copy(update={"elmo_signing_key_path": key, "elmo_signing_cert_path": cert})
    for live in serve_app(create_app(settings, engine=db)):
        with httpx.Client(base_url=live.base_url, follow_redirects=False, timeout=30) as http:
            log_in(http, citizen)
            page = http.get("/me")
            assert "signert av registeret" in page.text
            answer = http.post("/me/elmo", data={"csrf": csrf_of(page.text)})
    assert answer.status_code == 200
    verified = XMLVerifier().verify(answer.content, x509_cert=cert_pem.decode())
    assert b"INF100" in verified.signed_data
