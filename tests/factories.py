"""Typed helpers that create what tests need, through the same domain code the CLI uses."""

from __future__ import annotations

import random

from sqlalchemy import Engine

from register.organisations import add_organisation
from register.synthetic import synthetic_nin, synthetic_orgnr

_rng = random.Random(1234)


def create_organisation(
    engine: Engine,
    *,
    orgnr: str | None = None,
    name: str = "Testskolen",
    kind: str = "school",
    codes: dict[str, str] | None = None,
    delivers_for: list[str] | None = None,
    country: str = "NO",
    county: str | None = None,
) -> str:
    """Register an organisation; returns its orgnr (a fresh valid one unless given)."""
    orgnr = orgnr or synthetic_orgnr(_rng)
    with engine.begin() as conn:
        add_organisation(
            conn,
            orgnr=orgnr,
            name=name,
            kind=kind,
            codes=list((codes or {}).items()),
            delivers_for=delivers_for,
            country=country,
            county=county,
        )
    return orgnr


def new_nin(seed: int | None = None) -> str:
    """A fresh synthetic national id (Tenor style, month + 80)."""
    return synthetic_nin(random.Random(seed) if seed is not None else _rng)
