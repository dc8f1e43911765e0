"""A register server for the hostile-input tests (upload limit 16 MiB) and the organisations, person and
batch the cases aim at. Module-scoped: the database is emptied when a module is done."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from intake.batches import run_import
from register.settings import Settings
from tests.conftest import _truncate_all
from tests.factories import create_organisation, new_nin
from tests.hostile.corpus import MICRO_ISSUER, UPLOAD_LIMIT, Ctx
from tests.reliability.deliveries import vitnemal_csv
from tests.reliability.server import Served, start_server


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(
        database_url, tmp_path_factory.mktemp("hostile"), {"REGISTER_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ctx(served: Served, engine: Engine, database_url: str) -> Iterator[Ctx]:
    provider = create_organisation(
        engine, name="Fagskolen Hostile", kind="fagskole", codes={"issuer": MICRO_ISSUER}
    )
    other = create_organisation(engine, name="Fagskolen Annen", kind="fagskole")
    portal = create_organisation(engine, name="Portalen", kind="other")
    nin = new_nin(31337)
    report = run_import(
        engine,
        io.BytesIO(vitnemal_csv(other, nin, courses=2)),
        sector="vocational",
        provider_orgnr=other,
        settings=Settings(database_url=database_url, allow_synthetic_ids=True),
    )
    assert report.status == "completed"
    with engine.connect() as conn:
        achievement = conn.execute(text("SELECT id FROM achievement LIMIT 1")).scalar_one()
    yield Ctx(served, provider, other, portal, nin, str(report.batch_id), str(achievement))
    _truncate_all(engine)
