"""Deliveries for the fault tests: vocational CSV (docs/formats/vocational.md) of any size, made of
synthetic students only, so that a test can make a batch large enough to be killed in the middle."""

from __future__ import annotations

import itertools
import random

from register.synthetic import distinct_synthetic_nins

HEADER = (
    "fodselsnummer;fornavn;etternavn;fagskole_orgnr;utdanning_kode;utdanning_navn;nkr_niva;"
    "utdanning_fagskolepoeng;emnekode;emnenavn;fagskolepoeng;karakter;fullfort_dato;semester;"
    "resultat_id;vitnemal_id;vitnemal_dato"
)
GRADES = ("A", "B", "C", "D", "E")


def vocational_csv(
    fagskole: str, *, rows: int, seed: int = 1, students: int | None = None, tag: str = "R"
) -> bytes:
    """``rows`` course results (no vitnemål) of ``students`` students (default: one per ten rows).

    Every row has its own ``resultat_id`` (``tag`` + number), so a file holds exactly ``rows`` records;
    a different ``tag`` or ``seed`` makes a different file.
    """
    rng = random.Random(f"{seed}-{fagskole}")
    # Distinct by construction: two students drawn with the same number would be one person.
    people = list(
        itertools.islice(distinct_synthetic_nins(f"{seed}-{fagskole}"), students or max(1, rows // 10))
    )
    out = [HEADER]
    for i in range(rows):
        nin = people[i % len(people)]
        grade = rng.choice(GRADES)
        out.append(
            f"{nin};Kari;Nordmann;{fagskole};ELKRAFT;Elkraft;5.1;120;EL-{100 + i % 50};Emne {i % 50};10;{grade};"
            f"2024-06-1{i % 9};2024V;{tag}-{i};;"
        )
    return ("\n".join(out) + "\n").encode()


def vitnemal_csv(
    fagskole: str, nin: str, *, courses: int = 3, vitnemal: str = "VM-1", grade: str = "B"
) -> bytes:
    """One vitnemål with ``courses`` courses: ``courses + 1`` records."""
    out = [HEADER]
    for i in range(courses):
        out.append(
            f"{nin};Emil;Berg;{fagskole};ELKRAFT;Elkraft;5.1;120;EL-{101 + i};Emne {i};10;{grade};"
            f"2024-06-1{i % 9};2024V;R-{vitnemal}-{i};{vitnemal};2025-06-16"
        )
    return ("\n".join(out) + "\n").encode()
