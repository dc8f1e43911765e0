"""The app refuses oversized request heads itself too (for a deployment under another server)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.limits import MAX_HEAD_BYTES, MAX_HEADERS


def test_too_many_headers_are_431_before_authentication(client: TestClient) -> None:
    headers = {f"x-h{i}": "1" for i in range(MAX_HEADERS + 1)}
    response = client.get("/v1/batches", headers=headers)
    assert response.status_code == 431
    assert response.json()["code"] == "request.headers_too_large"


def test_headers_past_the_byte_bound_are_431(client: TestClient) -> None:
    response = client.get("/v1/batches", headers={"x-pad": "a" * MAX_HEAD_BYTES})
    assert response.status_code == 431
    assert response.json()["code"] == "request.headers_too_large"


def test_ordinary_headers_pass(client: TestClient) -> None:
    response = client.get("/v1/batches", headers={"x-pad": "a" * 1000})
    assert response.status_code == 401  # reached authentication
