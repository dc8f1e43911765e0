"""A re-export of micro-credentials: known credentials are counted unchanged without being read, and say
what a full read says (register.ingest.known_input, importers.micro.known_pieces)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

import importers.micro
from importers.micro.importer import MicroCredentialImporter
from intake.batches import BatchReport, run_import
from register.settings import Settings
from tests.factories import create_organisation
from tests.importers.micro.helpers import ISSUER_ORGNR, NOW, config, full_elm
from tests.importers.resend import records_of

ISSUER = "https://testkurs.example/issuer"


@pytest.fixture
def importer(monkeypatch: pytest.MonkeyPatch) -> MicroCredentialImporter:
    (registered,) = importers.micro.IMPORTERS
    assert isinstance(registered, MicroCredentialImporter)
    monkeypatch.setattr(registered, "config", config())
    return registered


class Read:
    """The credentials the importer read (the real reading, counted)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.refs: list[str] = []
        original = MicroCredentialImporter._records

        def counted(importer: Any, ref: str, *args: Any) -> Iterator[Any]:
            self.refs.append(ref)
            return original(importer, ref, *args)

        monkeypatch.setattr(MicroCredentialImporter, "_records", counted)

    def take(self) -> list[str]:
        taken, self.refs = self.refs, []
        return taken


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> Read:
    return Read(monkeypatch)


@pytest.fixture
def provider(db: Engine) -> str:
    return create_organisation(
        db, orgnr=ISSUER_ORGNR, name="Testkurs AS", kind="course_provider", codes={"issuer": ISSUER}
    )


def deliver(engine: Engine, settings: Settings, provider: str, data: bytes) -> BatchReport:
    return run_import(engine, io.BytesIO(data), sector="micro", provider_orgnr=provider, settings=settings)


def counts(report: BatchReport) -> tuple[Any, ...]:
    return (report.status, report.accepted, report.unchanged, report.rejected, report.details)


def lines(*credentials: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(c).encode() + b"\n" for c in credentials)


def test_a_re_export_is_not_read_and_reports_as_a_full_read(
    db: Engine, settings: Settings, provider: str, importer: MicroCredentialImporter, read: Read
) -> None:
    credentials = (full_elm(), full_elm(credential_id="urn:credential:test-2", title="Dyp læring"))
    first = deliver(db, settings, provider, lines(*credentials))
    assert (first.accepted, first.warnings, read.take()) == (2, [], ["credential 1", "credential 2"])

    # the same credentials as a JSON array instead of JSON Lines: each credential's bytes as before
    array = b"[" + b",\n".join(json.dumps(c).encode() for c in credentials) + b"]"
    resend = deliver(db, settings, provider, array)
    assert read.take() == []
    assert counts(resend) == ("completed", 0, 2, 0, {"credentials_by_format": {"elm": 2}})

    with db.begin() as conn:
        conn.execute(text("DELETE FROM known_input"))
    full = deliver(db, settings, provider, array + b"\n")
    assert len(read.take()) == 2
    assert counts(full) == counts(resend)
    assert records_of(db, full) == records_of(db, resend)


def test_a_brace_inside_a_string_does_not_end_a_credential(
    db: Engine, settings: Settings, provider: str, importer: MicroCredentialImporter, read: Read
) -> None:
    deliver(db, settings, provider, lines(full_elm(title='Kurs } {"x": 1} </elmo>')))
    deliver(db, settings, provider, lines(full_elm(title='Kurs } {"x": 1} </elmo>')) + b"\n")
    assert read.take() == ["credential 1"]  # known the second time
    # only the text after the brace differs: the whole credential is one raw record, so it is read
    changed = deliver(db, settings, provider, lines(full_elm(title='Kurs } {"x": 2} </elmo>')))
    assert (read.take(), changed.accepted) == (["credential 1"], 1)


def test_a_credential_is_read_again_once_it_may_have_expired(
    db: Engine,
    settings: Settings,
    provider: str,
    importer: MicroCredentialImporter,
    read: Read,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credential = full_elm() | {"validUntil": "2026-07-01T00:00:00Z"}
    deliver(db, settings, provider, lines(credential))
    deliver(db, settings, provider, lines(credential) + b"\n")
    assert read.take() == ["credential 1"]  # before it expires: known
    monkeypatch.setattr(importer, "config", config(now=lambda: NOW + dt.timedelta(days=60)))
    late = deliver(db, settings, provider, lines(credential) + b"\n\n")
    assert read.take() == ["credential 1"]
    assert [w.code for w in late.warnings] == ["micro.expired"]


def test_a_credential_with_a_warning_is_read_again_and_warns_again(
    db: Engine, settings: Settings, provider: str, importer: MicroCredentialImporter, read: Read
) -> None:
    expired = full_elm() | {"validUntil": "2026-01-01T00:00:00Z"}  # before the tests' clock
    other = full_elm(credential_id="urn:credential:test-2")
    first = deliver(db, settings, provider, lines(expired, other))
    assert [w.code for w in first.warnings] == ["micro.expired"]
    read.take()
    again = deliver(db, settings, provider, lines(expired, other) + b"\n")
    assert read.take() == ["credential 1"]
    assert again.warnings == first.warnings
    assert (again.unchanged, again.rejected) == (2, 0)
