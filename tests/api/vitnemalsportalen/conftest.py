"""The pupil every Vitnemålsportalen test reads: one vitnemål delivered through the upload API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.conftest import Token
from tests.api.vitnemalsportalen.helpers import Pupil, upload, vitnemal_csv
from tests.factories import create_organisation, new_nin


@pytest.fixture
def pupil(client: TestClient, token: Token, db: Engine) -> Pupil:
    school = create_organisation(db, name="Nordvik videregående skole", kind="school")
    nin = new_nin(1606)
    upload(client, token, school, vitnemal_csv(school, nin))
    return Pupil(nin, school)
