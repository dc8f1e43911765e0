"""What the Vitnemålsportalen tests share: a school, a pupil's vitnemål delivered as the school's CSV
through the upload API, and the audit rows its reads leave."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.api.conftest import WRITE, Token, bearer

HEADER = (
    "fodselsnummer;fornavn;etternavn;skole_orgnr;dokumenttype;dokument_id;utstedt_dato;utdanningsprogram;"
    "skolear;fagkode;fagnavn;vurderingstype;karakter;vurderingsdato"
)
# (fagkode, fagnavn, vurderingstype, karakter, vurderingsdato): standpunkt and an exam of one subject,
# an exemption, an oral exam and orden. Standpunkt is completed on the issue date (2025-06-20).
ROWS = (
    ("NOR1211", "Norsk hovedmål, skriftlig", "standpunkt", "5", ""),
    ("NOR1211", "Norsk hovedmål, skriftlig", "skriftlig_eksamen", "4", "2025-05-22"),
    ("SPR3010", "Fremmedspråk nivå II", "standpunkt", "fritatt", ""),
    ("MAT1021", "Matematikk 1T", "muntlig_eksamen", "3", "2025-06-02"),
    ("", "", "orden", "G", ""),
)


def vitnemal_csv(school: str, nin: str, *, nor_exam: str = "4") -> bytes:
    lines = [HEADER]
    for fagkode, fagnavn, kind, grade, date in ROWS:
        grade = nor_exam if kind == "skriftlig_eksamen" else grade
        lines.append(
            f"{nin};Nora;Hansen;{school};vitnemal;VGS-2025-1;2025-06-20;Studiespesialisering;2024-2025;"
            f"{fagkode};{fagnavn};{kind};{grade};{date}"
        )
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Pupil:
    nin: str
    school: str


def upload(client: TestClient, token: Token, school: str, content: bytes) -> dict[str, Any]:
    answer = client.post(
        "/v1/batches?sector=primary",
        content=content,
        headers={**bearer(token(school, WRITE)), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 201, answer.text
    report: dict[str, Any] = answer.json()
    assert report["rejected"] == 0, report
    return report


def last_audit(db: Engine, action: str) -> Any:
    with db.connect() as conn:
        return conn.execute(
            text(
                "SELECT person_id, action, details FROM audit_event WHERE action = :a "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"a": action},
        ).one()


def ids_depth_first(achievements: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for node in achievements:
        found.append(node["id"])
        found.extend(ids_depth_first(node["parts"]))
    return found


def by_code(achievements: list[dict[str, Any]]) -> dict[tuple[str | None, str | None], dict[str, Any]]:
    """Every achievement in the tree by (fagkode or document code, vurderingstype)."""
    found = {}
    stack = list(achievements)
    while stack:
        node = stack.pop()
        assessment = node.get("assessment")
        found[(node["specification"]["code"], assessment["code"] if assessment else None)] = node
        stack.extend(node["parts"])
    return found


def as_uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)
