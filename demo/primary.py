"""Demo data for grunnopplæring: a synthetic county with its schools, pupils and their documents.

The county delivers a CSV file for its upper-secondary schools (vitnemål with about twenty subjects,
standpunkt and exam grades, orden and atferd; kompetansebevis; fag- and svennebrev it issues); a
lower-secondary school delivers its own vitnemål as JSON. Subject codes and titles are modelled on
Udir's; every person is synthetic (Tenor-style national ids).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random

from demo.load import SHOWCASE, DemoDelivery, DemoOrganisation, DemoSet, DemoSize
from importers.primary.rows import COLUMNS
from register.synthetic import SyntheticPerson, synthetic_orgnr, synthetic_person

# Studiespesialisering over three years: (fagkode, title, school year index 0–2).
UPPER_SECONDARY_SUBJECTS = (
    ("NOR1267", "Norsk hovedmål, skriftlig", 2),
    ("NOR1268", "Norsk sidemål, skriftlig", 2),
    ("NOR1269", "Norsk, muntlig", 2),
    ("ENG1007", "Engelsk", 0),
    ("MAT1021", "Matematikk 1T", 0),
    ("MAT1023", "Matematikk 2P", 1),
    ("NAT1007", "Naturfag", 0),
    ("SAK1001", "Samfunnskunnskap", 0),
    ("GEO1003", "Geografi", 0),
    ("HIS1010", "Historie Vg2", 1),
    ("HIS1011", "Historie Vg3", 2),
    ("REL1003", "Religion og etikk", 2),
    ("KRO1017", "Kroppsøving Vg1", 0),
    ("KRO1018", "Kroppsøving Vg2", 1),
    ("KRO1019", "Kroppsøving Vg3", 2),
    ("SPR3029", "Spansk II", 1),
    ("FYS1002", "Fysikk 1", 1),
    ("KJE1002", "Kjemi 1", 1),
    ("BIO1002", "Biologi 1", 1),
    ("MAT1028", "Matematikk R1", 1),
    ("MAT1029", "Matematikk R2", 2),
)
LOWER_SECONDARY_SUBJECTS = (
    ("NOR0214", "Norsk hovedmål, skriftlig"),
    ("NOR0215", "Norsk sidemål, skriftlig"),
    ("NOR0216", "Norsk, muntlig"),
    ("MAT0010", "Matematikk"),
    ("ENG0012", "Engelsk, skriftlig"),
    ("ENG0013", "Engelsk, muntlig"),
    ("NAT0010", "Naturfag"),
    ("SAF0010", "Samfunnsfag"),
    ("RLE0030", "Kristendom, religion, livssyn og etikk"),
    ("KHV0010", "Kunst og håndverk"),
    ("MHE0010", "Mat og helse"),
    ("MUS0010", "Musikk"),
    ("KRO0020", "Kroppsøving"),
)
VOCATIONAL_SUBJECTS = (
    ("ELE1001", "Elektriske installasjoner"),
    ("ELE1002", "Energi- og automatiseringssystemer"),
    ("NOR1206", "Norsk"),
    ("ENG1007", "Engelsk"),
    ("MAT1001", "Matematikk 1P-Y"),
)
TRADES_FAGBREV = (
    ("ELELE3----", "Elektrikerfaget"),
    ("HSHEA3----", "Helsearbeiderfaget"),
    ("RMKOK3----", "Kokkfaget"),
)
TRADES_SVENNEBREV = (("BATMF3----", "Tømrerfaget"), ("DTFRI3----", "Frisørfaget"))
EXAM_KINDS = ("skriftlig_eksamen", "muntlig_eksamen")
COUNTY_NUMBER = "46"
NUMERIC_WEIGHTS = (("1", 1), ("2", 6), ("3", 18), ("4", 32), ("5", 28), ("6", 15))

HEADER = [c.name for c in COLUMNS]


def _grade(rng: random.Random, year: int) -> str:
    values, weights = zip(*NUMERIC_WEIGHTS, strict=True)
    # Grades drift upwards over the years (as Udir's statistics show): up to 2025 the weight of a 6
    # and a 5 grows by 0.8 a year, taken from the 3 and 4, so ten years apart the 6s are half again.
    drift = 0.8 * (2025 - year)
    shifted = [
        w - drift if v in "56" else w + drift if v in "34" else w
        for v, w in zip(values, weights, strict=True)
    ]
    return rng.choices(values, shifted)[0]


def _conduct(rng: random.Random) -> str:
    return rng.choices(("G", "NG", "LG"), (90, 8, 2))[0]


def _person_fields(person: SyntheticPerson) -> dict[str, str]:
    return {"fodselsnummer": person.nin, "fornavn": person.given_name, "etternavn": person.family_name}


def _school_year(end: int) -> str:
    return f"{end - 1}-{end}"


def _upper_secondary_vitnemal(
    rng: random.Random, school: str, doc: str, year: int, until: int | None = None
) -> list[dict[str, str]]:
    """A vitnemål of ``year``; a pupil still at school in ``until`` has a kompetansebevis of the years done."""
    person = synthetic_person(rng, birth_year=year - 19)
    at_school = until is not None and year > until
    common = {
        **_person_fields(person),
        "skole_orgnr": school,
        "dokumenttype": "kompetansebevis" if at_school else "vitnemal",
        "dokument_id": doc,
        "utstedt_dato": f"{min(year, until or year)}-06-20",
        "utdanningsprogram": "Studiespesialisering",
    }
    rows = []
    exams = set(rng.sample(range(len(UPPER_SECONDARY_SUBJECTS)), 5))
    for index, (code, title, level) in enumerate(UPPER_SECONDARY_SUBJECTS):
        if at_school and year - 2 + level > (until or year):
            continue
        school_year = _school_year(year - 2 + level)
        subject = {**common, "skolear": school_year, "fagkode": code, "fagnavn": title}
        grade = _grade(rng, year)
        if code.startswith("KRO") and rng.random() < 0.05:
            grade = "fritatt"
        rows.append({**subject, "vurderingstype": "standpunkt", "karakter": grade})
        if index in exams and grade != "fritatt":
            kind = (
                "skriftlig_eksamen"
                if code.startswith(("NOR1267", "NOR1268", "MAT"))
                else rng.choice(EXAM_KINDS)
            )
            exam_day = dt.date(year - 2 + level, 5, 20) + dt.timedelta(days=rng.randint(0, 20))
            rows.append(
                {
                    **subject,
                    "vurderingstype": kind,
                    "karakter": _grade(rng, year),
                    "vurderingsdato": exam_day.isoformat(),
                }
            )
    for kind in ("orden", "atferd") if not at_school else ():
        rows.append(
            {**common, "skolear": _school_year(year), "vurderingstype": kind, "karakter": _conduct(rng)}
        )
    return rows


def _kompetansebevis(rng: random.Random, school: str, doc: str, year: int) -> list[dict[str, str]]:
    person = synthetic_person(rng, birth_year=year - 18)
    common = {
        **_person_fields(person),
        "skole_orgnr": school,
        "dokumenttype": "kompetansebevis",
        "dokument_id": doc,
        "utstedt_dato": f"{year}-06-20",
        "utdanningsprogram": "Elektro og datateknologi",
        "skolear": _school_year(year),
    }
    rows = []
    for code, title in VOCATIONAL_SUBJECTS:
        grade = rng.choice(("IV", "1", "2", "3")) if rng.random() < 0.3 else _grade(rng, year)
        rows.append(
            {**common, "fagkode": code, "fagnavn": title, "vurderingstype": "standpunkt", "karakter": grade}
        )
    return rows


def _trade_certificate(
    rng: random.Random, county: str, doc: str, year: int, svennebrev: bool, until: int | None = None
) -> dict[str, str]:
    person = synthetic_person(rng, birth_year=year - rng.randint(19, 35))
    code, title = rng.choice(TRADES_SVENNEBREV if svennebrev else TRADES_FAGBREV)
    tested = dt.date(year, rng.randint(1, 11), rng.randint(1, 28))
    if until is not None and year >= until and tested.month >= 8:
        # Not the next school year's yet: a year holding only a few autumn tests looks like a collapse.
        tested = tested.replace(month=tested.month - 6)
    return {
        **_person_fields(person),
        "skole_orgnr": county,
        "dokumenttype": "svennebrev" if svennebrev else "fagbrev",
        "dokument_id": doc,
        "utstedt_dato": (tested + dt.timedelta(days=14)).isoformat(),
        "skolear": _school_year(year + 1 if tested.month >= 8 else year),
        "vurderingstype": "svenneprove" if svennebrev else "fagprove",
        "karakter": rng.choices(("bestått meget godt", "bestått", "ikke bestått"), (25, 70, 5))[0],
        "vurderingsdato": tested.isoformat(),
        "larefag_kode": code,
        "larefag_navn": title,
        "provefylke": COUNTY_NUMBER,
    }


def _lower_secondary_vitnemal(rng: random.Random, school: str, doc: str, year: int) -> list[dict[str, str]]:
    person = synthetic_person(rng, birth_year=year - 16)
    common = {
        **_person_fields(person),
        "skole_orgnr": school,
        "dokumenttype": "vitnemal",
        "dokument_id": doc,
        "utstedt_dato": f"{year}-06-19",
        "skolear": _school_year(year),
    }
    rows = [
        {
            **common,
            "fagkode": code,
            "fagnavn": title,
            "vurderingstype": "standpunkt",
            "karakter": _grade(rng, year),
        }
        for code, title in LOWER_SECONDARY_SUBJECTS
    ]
    written = rng.choice(("NOR0214", "MAT0010", "ENG0012"))
    oral = rng.choice(("NAT0010", "SAF0010", "RLE0030", "ENG0013"))
    titles = dict(LOWER_SECONDARY_SUBJECTS)
    rows.append({**common, "fagkode": written, "fagnavn": titles[written], "vurderingstype": "skriftlig_eksamen",
                 "karakter": _grade(rng, year), "vurderingsdato": f"{year}-05-22"})  # fmt: skip
    rows.append({**common, "fagkode": oral, "fagnavn": titles[oral], "vurderingstype": "muntlig_eksamen",
                 "karakter": _grade(rng, year), "vurderingsdato": f"{year}-06-10"})  # fmt: skip
    rows.append({**common, "vurderingstype": "orden", "karakter": _conduct(rng)})
    rows.append({**common, "vurderingstype": "atferd", "karakter": _conduct(rng)})
    return rows


def to_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([row.get(name, "") for name in HEADER])
    return out.getvalue().encode()


def demo_set(rng: random.Random, size: DemoSize = SHOWCASE) -> DemoSet:
    """A county, two upper-secondary schools and a lower-secondary school, and their deliveries per year."""
    county = synthetic_orgnr(rng)
    upper = [synthetic_orgnr(rng) for _ in range(2)]
    lower = synthetic_orgnr(rng)
    organisations = [
        # A west-coast county and its schools: Vestland (46)
        DemoOrganisation(
            upper[0], "Fjordvik videregående skole", "school", codes={"nsr": "NSR-974001"}, county="46"
        ),
        DemoOrganisation(
            upper[1], "Lia videregående skole", "school", codes={"nsr": "NSR-974002"}, county="46"
        ),
        DemoOrganisation(lower, "Bakkeby ungdomsskole", "school", codes={"nsr": "NSR-974003"}, county="46"),
        DemoOrganisation(
            county,
            "Vestfjord fylkeskommune",
            "county",
            delivers_for=(*upper, lower),
            name_en="Vestfjord County",
            county="46",
        ),
    ]
    deliveries = []
    for year in size.years:
        # Fewer pupils on the academic track and more with a trade certificate as the years go by.
        pupils = size.people(40, year, growth=-0.01)
        county_rows: list[dict[str, str]] = []
        for n in range(pupils):
            doc = f"VGS-{year}-{n + 1:06d}"
            county_rows += _upper_secondary_vitnemal(rng, upper[n % 2], doc, year, size.until)
        if size.until is not None and year > size.until:
            # Pupils still at school: the subjects they have finished, and nothing else yet.
            deliveries.append(
                DemoDelivery("primary", county, f"vigo-{year}.csv", to_csv(county_rows), "text/csv")
            )
            continue
        for n in range(max(2, pupils // 10)):
            county_rows += _kompetansebevis(rng, upper[1], f"KB-{year}-{n + 1:06d}", year)
        for n in range(max(4, size.people(8, year, growth=0.05))):
            county_rows.append(
                _trade_certificate(
                    rng, county, f"FB-{year}-{n + 1:06d}", year, svennebrev=n % 3 == 2, until=size.until
                )
            )
        school_rows: list[dict[str, str]] = []
        for n in range(max(5, pupils // 4)):
            school_rows += _lower_secondary_vitnemal(rng, lower, f"GS-{year}-{n + 1:06d}", year)
        deliveries += [
            DemoDelivery("primary", county, f"vigo-{year}.csv", to_csv(county_rows), "text/csv"),
            DemoDelivery(
                "primary",
                lower,
                f"grunnskole-{year}.json",
                json.dumps(school_rows, ensure_ascii=False, indent=1).encode(),
                "application/json",
            ),
        ]
    return DemoSet(organisations=organisations, deliveries=deliveries)
