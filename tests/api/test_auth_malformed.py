"""Malformed JOSE headers and claims an attacker found answered 500 with a traceback: each must be a
401 problem with a stable code and cost exactly one log line (the access line)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from register.settings import Settings
from register.tokens import TokenRequestError, issue_dev_token
from tests.api.conftest import KID, READ, Token, bearer, claims

ORG = "910000004"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _with_header(header: dict[str, Any]) -> str:
    """A token with this JOSE header and good claims; the signature is never reached."""
    payload = {
        k: int(v.timestamp()) if hasattr(v, "timestamp") else v for k, v in claims(ORG, [READ]).items()
    }
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.{_b64(b'sig')}"


MALFORMED_HEADERS = {
    "alg as a list": {"alg": ["RS256"], "kid": KID},
    "alg as an object": {"alg": {"name": "RS256"}, "kid": KID},
    "alg missing": {"kid": KID},
    "kid as an integer": {"alg": "RS256", "kid": 7},
    "kid as null": {"alg": "RS256", "kid": None},
    "a crit header": {"alg": "RS256", "kid": KID, "crit": ["exp"]},
    "an empty crit header": {"alg": "RS256", "kid": KID, "crit": []},
    "b64 false": {"alg": "RS256", "kid": KID, "b64": False},
    "b64 true": {"alg": "RS256", "kid": KID, "b64": True},
}


@pytest.mark.parametrize("shape", list(MALFORMED_HEADERS))
def test_a_malformed_header_is_a_401_and_one_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture, shape: str
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    response = client.get("/v1/batches", headers=bearer(_with_header(MALFORMED_HEADERS[shape])))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "token.malformed"
    # Before the fix: an ERROR "unhandled TypeError/InvalidTokenError" plus the traceback uvicorn
    # writes for a re-raised exception; now only the access line.
    logged = [(r.name, r.levelno) for r in caplog.records if r.name != "httpx"]  # the test client's own
    assert logged == [("api.access", logging.INFO)]


def test_a_consumer_id_with_a_blank_is_refused(client: TestClient, token: Token) -> None:
    """``0192: 910000004`` passed the orgnr check (which forgives blanks) and failed later as a 500."""
    consumer = {"authority": "iso6523-actorid-upis", "ID": f"0192: {ORG}"}
    response = client.post(
        "/v1/persons/lookup", headers=bearer(token(ORG, READ, consumer=consumer)), json={"nin": "0"}
    )
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "token.invalid_claims"


@pytest.mark.parametrize("orgnr", [f" {ORG}", f"{ORG} ", f"{ORG}\n"])
def test_a_development_token_is_not_issued_for_an_orgnr_with_blanks(
    api_settings: Settings, orgnr: str
) -> None:
    with pytest.raises(TokenRequestError):
        issue_dev_token(
            api_settings.model_copy(update={"environment": "development"}), scopes=[READ], orgnr=orgnr
        )
