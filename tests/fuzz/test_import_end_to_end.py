"""Fuzzing the whole import path against the real database: a damaged delivery either fails as a whole,
leaving nothing, or completes with its counts telling exactly what was written — a rejected record never
takes accepted ones with it, and nothing is half-written."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from intake.batches import run_import
from register.settings import Settings
from tests.conftest import _truncate_all
from tests.factories import create_organisation, new_nin
from tests.fuzz.profile import FUZZ_DATABASE, TIMEOUT, no_hang
from tests.reliability.deliveries import vitnemal_csv, vocational_csv

pytestmark = [pytest.mark.fuzz, pytest.mark.slow, TIMEOUT]

EDITS = [b";", b";;", b"\n", b'"', b"\x00", b"\xff", b"X", b"-", b"9", b"2024-13-45", b"=1+1", b"'; --"]


@pytest.fixture(scope="module")
def fagskole(engine: Engine) -> Iterator[str]:
    yield create_organisation(engine, kind="fagskole")
    _truncate_all(engine)


@st.composite
def damaged(draw: st.DrawFn, fagskole: str) -> bytes:
    seed = draw(st.integers(0, 10_000))
    data = bytearray(
        vitnemal_csv(fagskole, new_nin(seed), courses=draw(st.integers(1, 4)), vitnemal=f"VM-{seed}")
        + vocational_csv(fagskole, rows=draw(st.integers(1, 30)), seed=seed, tag=f"F{seed}").split(b"\n", 1)[
            1
        ]
    )
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            data[at:at] = draw(st.sampled_from(EDITS))
        else:
            del data[at : at + draw(st.integers(1, 20))]
    return bytes(data)


@FUZZ_DATABASE
@given(data=st.data())
def test_a_damaged_delivery_is_all_or_nothing_and_counted_exactly(
    data: st.DataObject, fagskole: str, engine: Engine, database_url: str
) -> None:
    content = data.draw(damaged(fagskole))
    settings = Settings(database_url=database_url, allow_synthetic_ids=True)
    with no_hang(60):
        report = run_import(
            engine, io.BytesIO(content), sector="vocational", provider_orgnr=fagskole, settings=settings
        )
    with engine.connect() as conn:
        written = conn.execute(
            text("SELECT count(*) FROM achievement WHERE batch_id = :b"), {"b": report.batch_id}
        ).scalar_one()
        rejections = conn.execute(
            text("SELECT count(*) FROM import_rejection WHERE batch_id = :b"), {"b": report.batch_id}
        ).scalar_one()
        status = conn.execute(
            text("SELECT status FROM import_batch WHERE id = :b"), {"b": report.batch_id}
        ).scalar_one()
    assert status == report.status
    if report.status == "failed":
        assert report.failure is not None and "." in report.failure.code
        assert (written, rejections) == (0, 0)
    elif report.status == "completed":
        assert written == report.accepted  # every accepted record, and nothing else, carries this batch
        assert rejections == report.rejected
        assert all("." in e.code and e.message for e in report.errors)
    else:
        assert report.status == "duplicate" and written == 0
