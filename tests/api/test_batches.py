"""Uploads: body or form, bounded size, small answered at once, large in the background; batch reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import api.rest.batches
import intake.batches
from tests.api.conftest import ADMIN, WRITE, Token, bearer, vocational_csv
from tests.factories import new_nin


def _upload(
    client: TestClient, token: Token, org: str, content: bytes, ctype: str = "text/csv", **params: str
):
    query = "&".join(f"{k}={v}" for k, v in {"sector": "vocational", **params}.items())
    return client.post(
        f"/v1/batches?{query}", content=content, headers={**bearer(token(org, WRITE)), "Content-Type": ctype}
    )


def test_form_upload_and_duplicate(client: TestClient, token: Token, orgs: dict[str, str]) -> None:
    body = vocational_csv(orgs["own"], new_nin(1))
    form = client.post(
        "/v1/batches?sector=vocational",
        files={"file": ("karakterer.csv", body, "text/csv")},
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert form.status_code == 201, form.text
    assert (form.json()["accepted"], form.json()["format"]) == (4, "vocational-csv")
    batch = client.get(form.headers["location"], headers=bearer(token(orgs["own"], WRITE))).json()
    assert (batch["filename"], batch["provider"], batch["status"]) == (
        "karakterer.csv",
        orgs["own"],
        "completed",
    )
    again = _upload(client, token, orgs["own"], body)
    assert again.status_code == 201
    assert (again.json()["status"], again.json()["duplicate_of"]) == ("duplicate", form.json()["batch_id"])


def test_uploads_are_bounded(client: TestClient, token: Token, orgs: dict[str, str], app: FastAPI) -> None:
    limit = app.state.settings.max_upload_bytes

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bound holds while streaming
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    streamed = client.post(
        "/v1/batches?sector=vocational",
        content=chunks(),
        headers={**bearer(token(orgs["own"], WRITE)), "Content-Type": "text/csv"},
    )
    assert (streamed.status_code, streamed.json()["code"]) == (413, "upload.too_large")
    declared = _upload(client, token, orgs["own"], b"x" * (limit + 100_000))
    assert (declared.status_code, declared.json()["code"]) == (413, "upload.too_large")
    form = client.post(
        "/v1/batches?sector=vocational",
        files={"file": ("big.csv", b"x" * (limit + 1), "text/csv")},
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert (form.status_code, form.json()["code"]) == (413, "upload.too_large")
    empty = _upload(client, token, orgs["own"], b"")
    assert (empty.status_code, empty.json()["code"]) == (422, "upload.empty")
    no_file = client.post(
        "/v1/batches?sector=vocational",
        data={"note": "x"},
        files={"other": ("a", b"b")},
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert (no_file.status_code, no_file.json()["code"]) == (422, "upload.missing_file")
    listed = client.get("/v1/batches", headers=bearer(token(orgs["own"], WRITE))).json()["items"]
    assert listed == []  # nothing refused at the door was stored


def test_an_unreadable_file_is_a_422_with_its_stored_batch(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    response = _upload(
        client, token, orgs["own"], b"\x00\x01 this is no delivery format", "application/octet-stream"
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "format.unknown" and "vocational-csv" in problem["detail"]
    batch = client.get(response.headers["location"], headers=bearer(token(orgs["own"], WRITE))).json()
    assert (batch["id"], batch["status"]) == (problem["batch_id"], "failed")


def test_unregistered_provider_and_unknown_sector(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    stranger = "910000004"
    response = _upload(client, token, stranger, vocational_csv(orgs["own"], new_nin(2)))
    assert (response.status_code, response.json()["code"]) == (403, "provider.unknown")
    bad_sector = _upload(client, token, orgs["own"], b"a", sector="kindergarten")
    assert (bad_sector.status_code, bad_sector.json()["code"]) == (422, "request.invalid")


def test_large_uploads_answer_202_and_finish_in_the_background(
    client: TestClient, token: Token, orgs: dict[str, str], app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.rest.batches, "SYNCHRONOUS_BYTES", 100)
    students = [new_nin(100 + i) for i in range(5)]
    response = _upload(client, token, orgs["own"], vocational_csv(orgs["own"], *students))
    assert response.status_code == 202, response.text
    assert response.headers["location"] == response.json()["location"]
    app.state.import_executor.shutdown(wait=True)  # the background import has finished
    batch = client.get(response.headers["location"], headers=bearer(token(orgs["own"], WRITE))).json()
    assert (batch["status"], batch["accepted"]) == ("completed", 20)


def test_rejections_and_pages(client: TestClient, token: Token, orgs: dict[str, str]) -> None:
    # Rows naming the other fagskole are rejected: 3 students × (vitnemål + 3 courses) = 12 rejections.
    first = _upload(
        client, token, orgs["own"], vocational_csv(orgs["other"], *[new_nin(200 + i) for i in range(3)])
    )
    assert first.json()["rejected"] == 12
    headers = bearer(token(orgs["own"], WRITE))
    batch_id = first.json()["batch_id"]
    detail = client.get(f"/v1/batches/{batch_id}", headers=headers).json()
    assert len(detail["rejections"]) == 12 and detail["rejections_next"] is None
    assert {r["code"] for r in detail["rejections"]} == {"organisation.not_authorised"}
    seen, after = [], 0
    while after is not None:
        page = client.get(f"/v1/batches/{batch_id}/rejections?after={after}&limit=5", headers=headers).json()
        seen += [r["seq"] for r in page["items"]]
        after = page["next_after"]
    assert seen == sorted(r["seq"] for r in detail["rejections"])

    for i in range(3):
        _upload(client, token, orgs["own"], vocational_csv(orgs["own"], new_nin(300 + i), prefix=f"P{i}"))
    ids, cursor = [], None
    while True:
        url = "/v1/batches?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).json()
        ids += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == 4 == len(set(ids)) and ids[-1] == batch_id  # newest first, each once
    bad = client.get("/v1/batches?cursor=bm90LWEtY3Vyc29y", headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "request.cursor")
    admin_view = client.get(f"/v1/batches/{batch_id}", headers=bearer(token(orgs["portal"], ADMIN)))
    assert admin_view.status_code == 200


def test_broken_form_uploads(client: TestClient, token: Token, orgs: dict[str, str]) -> None:
    for content_type, code in (
        ("multipart/form-data", "upload.multipart_invalid"),  # no boundary
        ("multipart/form-data; boundary=abc", "upload.missing_file"),  # no part at all
    ):
        response = _upload(client, token, orgs["own"], b"--abc\r\ngarbage", content_type)
        assert (response.status_code, response.json()["code"]) == (422, code)


def test_an_upload_is_written_once_not_copied_into_a_second_spool(
    client: TestClient, token: Token, orgs: dict[str, str], app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, intake copied every upload the API had already spooled into a spool of its own.
    copies: list[object] = []
    original = intake.batches.tempfile.SpooledTemporaryFile

    def counting(*args: object, **kwargs: object) -> object:
        copies.append(args)
        return original(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(intake.batches.tempfile, "SpooledTemporaryFile", counting)
    small = _upload(client, token, orgs["own"], vocational_csv(orgs["own"], new_nin(301), prefix="W1"))
    assert (small.status_code, small.json()["rejected"]) == (201, 0), small.text
    form = client.post(
        "/v1/batches?sector=vocational",
        files={
            "file": ("karakterer.csv", vocational_csv(orgs["own"], new_nin(302), prefix="W2"), "text/csv")
        },
        headers=bearer(token(orgs["own"], WRITE)),
    )
    assert (form.status_code, form.json()["rejected"]) == (201, 0), form.text
    monkeypatch.setattr(api.rest.batches, "SYNCHRONOUS_BYTES", 100)
    large = _upload(client, token, orgs["own"], vocational_csv(orgs["own"], new_nin(303), prefix="W3"))
    assert large.status_code == 202, large.text
    app.state.import_executor.shutdown(wait=True)  # the background import has finished
    batch = client.get(large.headers["location"], headers=bearer(token(orgs["own"], WRITE))).json()
    assert (batch["status"], batch["rejected"]) == ("completed", 0)
    assert copies == []
