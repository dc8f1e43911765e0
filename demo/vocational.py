"""Demo data for fagskoler: two synthetic fagskoler, their students, course results and vitnemål.

One fagskole delivers CSV (technical educations at NKR 5.1, 120 fagskolepoeng), the other JSON Lines
(health educations, one at NKR 5.2). Most students have completed a vitnemål; some are still studying
and have course results with their own ``resultat_id``. Every person is synthetic.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from dataclasses import dataclass

from demo.load import SHOWCASE, DemoDelivery, DemoOrganisation, DemoSet, DemoSize
from importers.vocational.rows import COLUMNS
from register.synthetic import synthetic_orgnr, synthetic_person


@dataclass(frozen=True, slots=True)
class Education:
    code: str
    title: str
    nkr: str
    courses: tuple[tuple[str, str, str], ...]  # (emnekode, emnenavn, fagskolepoeng), in study order

    @property
    def total(self) -> str:
        return str(sum(float(c[2]) for c in self.courses)).removesuffix(".0")


TECHNICAL = (
    Education(
        "ELKRAFT",
        "Elkraft",
        "5.1",
        (
            ("EL-101", "Realfag", "10"),
            ("EL-102", "Elektrotekniske fag", "10"),
            ("EL-103", "Ledelse, økonomi og markedsføring", "10"),
            ("EL-201", "Elkraftsystemer", "20"),
            ("EL-202", "Elektriske installasjoner", "20"),
            ("EL-203", "Automatiseringssystemer", "20"),
            ("EL-290", "Hovedprosjekt", "30"),
        ),
    ),
    Education(
        "BYGG",
        "Bygg",
        "5.1",
        (
            ("BY-101", "Realfag", "10"),
            ("BY-102", "Bygningsteknikk", "20"),
            ("BY-103", "Kommunikasjon og ledelse", "10"),
            ("BY-201", "Prosjektering", "20"),
            ("BY-202", "Produksjon og drift", "30"),
            ("BY-290", "Hovedprosjekt", "30"),
        ),
    ),
)
HEALTH = (
    Education(
        "PSYKHELSE",
        "Psykisk helsearbeid og rusarbeid",
        "5.1",
        (
            ("PH-101", "Felles grunnlag for helsefag", "10"),
            ("PH-102", "Psykisk helse og rus", "20"),
            ("PH-103", "Praksis", "20"),
            ("PH-104", "Fordypningsoppgave", "10"),
        ),
    ),
    Education(
        "HELSEVEIL",
        "Veiledning i helsefag",
        "5.2",
        (
            ("HV-501", "Veiledningspedagogikk", "7.5"),
            ("HV-502", "Praksisveiledning", "7.5"),
            ("HV-503", "Fordypning", "15"),
        ),
    ),
)
HEADER = [c.name for c in COLUMNS]


def _grade(rng: random.Random, project: bool) -> str:
    if project and rng.random() < 0.3:
        return "bestått"
    return rng.choices(("A", "B", "C", "D", "E", "F"), (12, 28, 32, 16, 8, 4))[0]


def _student_rows(
    rng: random.Random, fagskole: str, education: Education, number: int, year: int
) -> list[dict]:
    person = synthetic_person(rng, birth_year=year - rng.randint(21, 45))
    completed = rng.random() < 0.75
    common = {
        "fodselsnummer": person.nin,
        "fornavn": person.given_name,
        "etternavn": person.family_name,
        "fagskole_orgnr": fagskole,
        "utdanning_kode": education.code,
        "utdanning_navn": education.title,
        "nkr_niva": education.nkr,
        "utdanning_fagskolepoeng": education.total,
    }
    courses = (
        education.courses if completed else education.courses[: rng.randint(1, len(education.courses) - 1)]
    )
    start = year - 2 if education.total == "120" else year - 1
    rows = []
    for index, (code, title, points) in enumerate(courses):
        term_year = start + (index * 2 // len(education.courses)) + (1 if index % 2 else 0)
        spring = index % 2 == 1
        day = dt.date(term_year, 6, 10) if spring else dt.date(term_year, 12, 12)
        grade = _grade(rng, project=title == "Hovedprosjekt")
        if completed and grade == "F":
            grade = "E"  # a vitnemål needs every course passed
        row = {
            **common,
            "emnekode": code,
            "emnenavn": title,
            "fagskolepoeng": points,
            "karakter": grade,
            "fullfort_dato": min(day, dt.date(year, 6, 10)).isoformat(),
            "semester": f"{min(day, dt.date(year, 6, 10)).year}{'V' if spring else 'H'}",
            "resultat_id": f"{education.code}-{number:05d}-{index + 1}",
        }
        if completed:
            row["vitnemal_id"] = f"VM-{year}-{education.code}-{number:05d}"
            row["vitnemal_dato"] = f"{year}-06-20"
        rows.append(row)
    return rows


def _as_of(rows: list[dict], until: int | None) -> list[dict]:
    """A student's rows at the end of ``until``: the courses finished by then, and no vitnemål yet if
    the education ends later (a student still studying)."""
    if until is None:
        return rows
    kept = [dict(row) for row in rows if int(row["fullfort_dato"][:4]) <= until]
    for row in kept:
        if "vitnemal_dato" in row and int(row["vitnemal_dato"][:4]) > until:
            del row["vitnemal_id"], row["vitnemal_dato"]
    return kept


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row.get(name, "") for name in HEADER])
    return out.getvalue().encode()


def demo_set(rng: random.Random, size: DemoSize = SHOWCASE) -> DemoSet:
    """Two fagskoler and one delivery each per year."""
    technical, health = synthetic_orgnr(rng), synthetic_orgnr(rng)
    organisations = [
        DemoOrganisation(
            technical, "Fjordvik fagskole", "fagskole", name_en="Fjordvik Vocational College", county="46"
        ),
        DemoOrganisation(
            health, "Lia helsefagskole", "fagskole", name_en="Lia College of Health Studies", county="15"
        ),
    ]
    deliveries = []
    for year in size.years:
        technical_rows: list[dict] = []
        health_rows: list[dict] = []
        # The fagskoler grow (the fagskole reform of 2018): 6 % more students a year up to 2025.
        for n in range(size.people(24, year, growth=0.06)):
            number = (year % 100) * 1000 + n + 1  # a course result's id is unique over the years
            technical_rows += _as_of(
                _student_rows(rng, technical, TECHNICAL[n % 2], number, year), size.until
            )
            health_rows += _as_of(_student_rows(rng, health, HEALTH[n % 2], number, year), size.until)
        deliveries += [
            DemoDelivery("vocational", technical, f"fagskole-{year}.csv", to_csv(technical_rows), "text/csv"),
            DemoDelivery(
                "vocational",
                health,
                f"fagskole-{year}.jsonl",
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in health_rows).encode(),
                "application/x-ndjson",
            ),
        ]
    return DemoSet(organisations=organisations, deliveries=deliveries)
