"""Rejections in the provider's own words (issue: errors in the provider's words): the file's column
names, the documented separator error, and the file's row order."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import WRITE, Token, bearer, vocational_csv
from tests.factories import new_nin


def _upload(client: TestClient, token: Token, org: str, content: bytes) -> dict:
    response = client.post(
        "/v1/batches?sector=vocational",
        content=content,
        headers={**bearer(token(org, WRITE)), "Content-Type": "text/csv"},
    )
    assert response.status_code in (201, 422), response.text
    return response.json()


@pytest.mark.parametrize(("separator", "shown"), [(",", "','"), ("\t", "tab")])
def test_a_comma_or_tab_separated_file_is_told_its_separator(
    client: TestClient, token: Token, orgs: dict[str, str], separator: str, shown: str
) -> None:
    body = vocational_csv(orgs["own"], new_nin(901)).decode().replace(";", separator).encode()
    answer = _upload(client, token, orgs["own"], body)
    assert answer["code"] == "csv.separator", answer  # was format.unknown: no importer claimed the file
    assert shown in str(answer)


def _rejections(client: TestClient, token: Token, org: str, batch_id: str) -> list[dict]:
    detail = client.get(f"/v1/batches/{batch_id}", headers=bearer(token(org, WRITE))).json()
    return detail["rejections"]


def test_the_ingests_rejections_name_the_files_columns(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    good = new_nin(902)
    bad_check_digits = good[:-1] + str((int(good[-1]) + 1) % 10)
    lines = vocational_csv(orgs["own"], good, bad_check_digits, rows=1).decode().splitlines()
    unknown_school = "974760673"  # a valid organisasjonsnummer the register does not know
    lines.append(
        lines[1].replace(orgs["own"], unknown_school).replace("R-VM-0-0", "R-X").replace("VM-0", "VM-X")
    )
    answer = _upload(client, token, orgs["own"], ("\n".join(lines) + "\n").encode())
    rejections = _rejections(client, token, orgs["own"], answer["batch_id"])
    paths = {(r["record"], r["path"]) for r in rejections}
    # the national id's check digits and the unknown organisation are the ingest's rules, not the
    # reader's: before, their paths were person.identifiers[0] and awarding_org
    assert ("row 2", "fodselsnummer") in paths, rejections
    assert ("row 3", "fagskole_orgnr") in paths, rejections
    assert not any(p and (p.startswith("person") or p == "awarding_org") for _, p in paths)


def test_rejections_come_in_the_files_row_order(
    client: TestClient, token: Token, orgs: dict[str, str]
) -> None:
    lines = vocational_csv(orgs["own"], new_nin(903), rows=3).decode().splitlines()
    # row 2 repeats row 1's key (found by the set-based write, after the whole file was read);
    # row 3 has a date the reader refuses at once
    lines[2] = lines[1]
    lines[3] = lines[3].replace("2024-06-12", "2024-13-40")
    answer = _upload(client, token, orgs["own"], ("\n".join(lines) + "\n").encode())
    rejections = _rejections(client, token, orgs["own"], answer["batch_id"])
    assert [(r["record"], r["code"]) for r in rejections] == [
        ("row 2", "source_key.duplicate"),
        ("row 3", "date.invalid"),
    ]
    pages = client.get(
        f"/v1/batches/{answer['batch_id']}/rejections?limit=10", headers=bearer(token(orgs["own"], WRITE))
    ).json()
    assert [r["record"] for r in pages["items"]] == ["row 2", "row 3"]
