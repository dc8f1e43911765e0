"""Synthetic people for demos, tests and benchmarks — never real ones.

National ids follow Skatteetaten's Tenor convention (month + 80), so they can never be a real person's
fødselsnummer, and they pass the check-digit rules. Deterministic for a given random generator.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from register.identifiers import nin_check_digits, orgnr_check_digit

GIVEN_NAMES = (
    "Nora", "Emma", "Ella", "Maja", "Olivia", "Sofie", "Ingrid", "Leah", "Sara", "Frida", "Astrid", "Jakob",
    "Emil", "Noah", "Oliver", "Filip", "William", "Lucas", "Liam", "Henrik", "Aksel", "Magnus", "Iver",
    "Sindre", "Tuva", "Hedda", "Selma", "Kasper", "Tobias", "Eirik",
)  # fmt: skip
FAMILY_NAMES = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen",
    "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen", "Andreassen",
    "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen", "Lund", "Sørensen", "Moen", "Bakken",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SyntheticPerson:
    nin: str
    given_name: str
    family_name: str
    birth_year: int


def synthetic_nin(rng: random.Random, birth_year: int | None = None) -> str:
    """A Tenor-style synthetic fødselsnummer (month + 80) with valid classic check digits."""
    year = birth_year or rng.randint(1950, 2010)
    while True:
        day = rng.randint(1, 28)
        month = rng.randint(1, 12) + 80
        individual = rng.randint(0, 499) if 1900 <= year <= 1999 else rng.randint(500, 999)
        first_nine = f"{day:02d}{month:02d}{year % 100:02d}{individual:03d}"
        check = nin_check_digits(first_nine)
        if check is not None:
            return first_nine + check


def synthetic_person(rng: random.Random, birth_year: int | None = None) -> SyntheticPerson:
    year = birth_year or rng.randint(1950, 2010)
    return SyntheticPerson(
        nin=synthetic_nin(rng, year),
        given_name=rng.choice(GIVEN_NAMES),
        family_name=rng.choice(FAMILY_NAMES),
        birth_year=year,
    )


def synthetic_orgnr(rng: random.Random) -> str:
    """A valid organisasjonsnummer in the 9xx range used for test organisations."""
    while True:
        first_eight = f"9{rng.randint(0, 9_999_999):07d}"
        check = orgnr_check_digit(first_eight)
        if check is not None:
            return first_eight + str(check)


def distinct_synthetic_nins(seed: int | str) -> Iterator[str]:
    """Synthetic national ids, never the same one twice, in a seed-determined order; no memory grows.

    Random draws collide (a thousand people from ten million numbers meet with a few per cent
    probability, a million people certainly), and two learners sharing a number are one person to the
    register. This walks the space of (birth date, individual number) pairs — 61 years × 12 months × 28
    days × 1000 — in an order fixed by an affine permutation, skipping pairs whose check digits do not
    exist: each number comes once, and about 15 million are available.
    """
    years, months, days, individuals = 61, 12, 28, 1000
    space = years * months * days * individuals
    rng = random.Random(seed)
    step = rng.randrange(1, space)
    while math.gcd(step, space) != 1:
        step += 1
    start = rng.randrange(space)
    for k in range(space):
        index = (start + k * step) % space
        index, individual = divmod(index, individuals)
        index, day = divmod(index, days)
        year, month = divmod(index, months)
        first_nine = f"{day + 1:02d}{month + 81:02d}{(1950 + year) % 100:02d}{individual:03d}"
        check = nin_check_digits(first_nine)
        if check is not None:
            yield first_nine + check
