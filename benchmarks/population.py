"""A synthetic Norway: organisations, people and their providers' delivery files, deterministic by seed.

``Population(persons, seed)`` describes the country: the 15 counties (2024 fylker, weighted by their
share of the population) and their upper secondary schools, fagskoler, universities and university
colleges, and course providers, each registered as an organisation with a valid synthetic
organisasjonsnummer. ``write_deliveries`` then streams every person's results into the delivery files
their providers would send, in the formats those providers use:

- counties deliver for their schools in the primary CSV format (docs/formats/primary.md): a vitnemål
  or kompetansebevis with ~20 subjects (standpunkt, a few exams, orden and atferd) for most people, and
  a fagbrev or svennebrev for those on a vocational track;
- fagskoler deliver the vocational CSV format: a vitnemål with 4–8 courses in fagskolepoeng;
- universities deliver ELMO batch files as FS writes them: a degree with 10–40 courses (or a few
  single courses) in ECTS, A–F grades, some failed attempts;
- course providers deliver Europass (ELM v3) credentials as JSON arrays.

Everything streams: one person is generated at a time from a generator seeded by (seed, person index),
rows go straight to the open files, and a file is closed and a new one started at ``file_records``
achievements. Memory stays flat from 1 000 to 5.5 M persons. National ids are Tenor-style synthetic
numbers (month + 80), handed out from a per-birth-year sequence so that no two persons share one.

Longer than 500 lines on purpose: test data, not part of the register; one generator whose parts
(organisations, people, the four delivery formats) share the random state seeded per person.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from demo.higher import ELMO_NS, Course, Institution, Result, Transcript, elmo_fragments
from demo.load import DemoOrganisation
from demo.micro import elm_credential
from register.identifiers import nin_check_digits
from register.synthetic import FAMILY_NAMES, GIVEN_NAMES, SyntheticPerson, synthetic_orgnr

# The 2024 counties: fylkesnummer, name, approximate share of the population.
COUNTIES = (
    ("03", "Oslo", 0.128), ("11", "Rogaland", 0.089), ("15", "Møre og Romsdal", 0.049),
    ("18", "Nordland", 0.044), ("31", "Østfold", 0.055), ("32", "Akershus", 0.131),
    ("33", "Buskerud", 0.049), ("34", "Innlandet", 0.068), ("39", "Vestfold", 0.046),
    ("40", "Telemark", 0.031), ("42", "Agder", 0.057), ("46", "Vestland", 0.117),
    ("50", "Trøndelag", 0.087), ("55", "Troms", 0.031), ("56", "Finnmark", 0.014),
)  # fmt: skip

# Subjects of upper secondary school: Udir-style fagkode, title, programme group.
COMMON_SUBJECTS = (
    ("NOR1211", "Norsk hovedmål, skriftlig"), ("NOR1212", "Norsk sidemål, skriftlig"),
    ("NOR1213", "Norsk, muntlig"), ("ENG1007", "Engelsk"), ("MAT1019", "Matematikk 1P"),
    ("NAT1007", "Naturfag"), ("SAF1001", "Samfunnskunnskap"), ("HIS1010", "Historie"),
    ("REL1003", "Religion og etikk"), ("GEO1003", "Geografi"), ("KRO1019", "Kroppsøving"),
    ("SPR3031", "Spansk I"), ("MAT1021", "Matematikk 1T"),
)  # fmt: skip
ACADEMIC_SUBJECTS = (
    ("MAT3203", "Matematikk R1"), ("MAT3204", "Matematikk R2"), ("FYS1002", "Fysikk 1"),
    ("KJE1002", "Kjemi 1"), ("BIO1002", "Biologi 1"), ("SAM3063", "Sosiologi og sosialantropologi"),
    ("SAM3054", "Rettslære 1"), ("POS1001", "Politikk og menneskerettigheter"), ("PSY1001", "Psykologi 1"),
    ("ENG3001", "Engelsk 1"), ("MOK1001", "Markedsføring og ledelse 1"), ("IKT1001", "Informasjonsteknologi 1"),
    ("ENT1001", "Entreprenørskap og bedriftsutvikling 1"), ("GEO3003", "Geofag 1"),
)  # fmt: skip
VOCATIONAL_SUBJECTS = (
    ("ELE1001", "Elektriske installasjoner"), ("ELE1002", "Energi og styresystemer"),
    ("BAT1001", "Produksjon"), ("BAT1002", "Bærekraftig byggeteknikk"), ("HEA1001", "Helsefremmende arbeid"),
    ("HEA1002", "Kommunikasjon og samhandling"), ("TIP1001", "Produksjon og tilvirkning"),
    ("TIP1002", "Tegning og dokumentasjon"), ("RMF1001", "Råvarer og produksjon"),
)  # fmt: skip
TRADES = (
    ("ELELE3----", "Elektrikerfaget"), ("BATMF3----", "Tømrerfaget"), ("HELHE3----", "Helsearbeiderfaget"),
    ("TIKJM3----", "Kjemiprosessfaget"), ("BABYG3----", "Betongfaget"), ("RMKOK3----", "Kokkfaget"),
    ("SSBUA3----", "Barne- og ungdomsarbeiderfaget"), ("TPBIL3----", "Bilfaget, lette kjøretøy"),
)  # fmt: skip
# University fields: course code prefix, ISCED-F field, NUS prefix, title stem.
FIELDS = (
    ("INF", "0613", "6511", "Informatikk"), ("MAT", "0541", "6521", "Matematikk"),
    ("ECON", "0311", "6331", "Samfunnsøkonomi"), ("JUS", "0421", "6341", "Rettsvitenskap"),
    ("SYK", "0913", "6621", "Sykepleie"), ("PED", "0111", "6111", "Pedagogikk"),
    ("HIS", "0222", "6221", "Historie"), ("BIO", "0511", "6510", "Biologi"),
    ("FYS", "0533", "6523", "Fysikk"), ("PSY", "0313", "6319", "Psykologi"),
    ("ING", "0710", "6551", "Ingeniørfag"), ("BØK", "0413", "6341", "Bedriftsøkonomi"),
)  # fmt: skip
FAGSKOLE_EDUCATIONS = (
    ("ELKRAFT", "Elkraft", "5.1", 120), ("HELSE", "Helse, aldring og aktiv omsorg", "5.1", 60),
    ("LEDELSE", "Ledelse og økonomistyring", "5.1", 60), ("BYGG", "Bygg", "5.1", 120),
    ("IKT", "IT-drift og sikkerhet", "5.1", 120), ("MASKIN", "Maskinteknikk", "5.2", 120),
)  # fmt: skip
MICRO_COURSES = (
    ("Grunnleggende maskinlæring", ("Forklare overvåket læring",), "5", 135, 6, "0613"),
    ("Universell utforming av nettsider", ("Anvende WCAG 2.1",), "2.5", 70, 5, "0612"),
    ("Klimaregnskap for små bedrifter", ("Sette opp et klimaregnskap",), "3", 80, 6, "0413"),
    ("Sikker drift av skytjenester", ("Herde en virtuell maskin",), "4", 110, 5, "0612"),
    ("Personvern i praksis", ("Gjennomføre en DPIA",), "2", 50, 6, "0421"),
    ("Prosjektledelse med Scrum", ("Lede en sprint",), "3", 80, 5, "0413"),
    ("Grunnkurs i dataanalyse", ("Rense og visualisere data",), "5", 135, 6, "0542"),
    ("Praktisk pedagogikk for instruktører", ("Planlegge en økt",), "7.5", 200, 6, "0111"),
)  # fmt: skip

GRADES_1_6 = ("1", "2", "3", "4", "5", "6")
STANDPUNKT_WEIGHTS = (2, 8, 20, 32, 26, 12)
EXAM_WEIGHTS = (4, 12, 25, 30, 20, 9)
A_TO_F = ("A", "B", "C", "D", "E", "F")
A_TO_F_WEIGHTS = (10, 25, 30, 17, 9, 9)

PRIMARY_HEADER = (
    "fodselsnummer", "fornavn", "etternavn", "skole_orgnr", "dokumenttype", "dokument_id", "utstedt_dato",
    "utdanningsprogram", "skolear", "fagkode", "fagnavn", "vurderingstype", "karakter", "vurderingsdato",
    "larefag_kode", "larefag_navn", "provefylke",
)  # fmt: skip
VOCATIONAL_HEADER = (
    "fodselsnummer", "fornavn", "etternavn", "fagskole_orgnr", "utdanning_kode", "utdanning_navn", "nkr_niva",
    "utdanning_fagskolepoeng", "emnekode", "emnenavn", "fagskolepoeng", "karakter", "fullfort_dato", "semester",
    "resultat_id", "vitnemal_id", "vitnemal_dato",
)  # fmt: skip

#: the kinds of delivery file, in the order they are imported (schools first: they create most persons)
KINDS = ("primary-csv", "vocational-csv", "elmo", "micro-elm")
SECTOR_OF_KIND = {
    "primary-csv": "primary",
    "vocational-csv": "vocational",
    "elmo": "higher",
    "micro-elm": "micro",
}
LAST_YEAR = 2026


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


@dataclass(frozen=True, slots=True)
class County:
    number: str
    name: str
    orgnr: str
    schools: tuple[str, ...]  # orgnrs


@dataclass(frozen=True, slots=True)
class DeliveryFile:
    """One written delivery: what the import job needs to receive it."""

    kind: str
    sector: str
    provider_orgnr: str
    path: Path
    content_type: str
    achievements: int  # as generated (the importer's count may differ only if records are rejected)


@dataclass(slots=True)
class PopulationCounts:
    persons: int = 0
    achievements: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


class NinSequence:
    """Distinct synthetic national ids: the n-th number of a birth year is the n-th valid candidate.

    Candidates run over day 1–28, month 81–92 and the individual number range of the century, so a
    birth year has about 100 000 valid numbers — more than any Norwegian birth cohort.
    """

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def take(self, year: int) -> str:
        candidate = self._next.get(year, 0)
        base_individual = 0 if year < 2000 else 500
        while True:
            if candidate >= 28 * 12 * 500:
                raise ValueError(f"no synthetic national ids left for birth year {year}")
            day, rest = candidate % 28 + 1, candidate // 28
            month, individual = rest % 12 + 81, base_individual + rest // 12
            candidate += 1
            first_nine = f"{day:02d}{month:02d}{year % 100:02d}{individual:03d}"
            check = nin_check_digits(first_nine)
            if check is not None:
                self._next[year] = candidate
                return first_nine + check


class Population:
    """The organisations of a synthetic Norway sized for ``persons``, and its people on demand."""

    def __init__(self, persons: int, seed: int = 2026) -> None:
        if persons < 1:
            raise ValueError("persons must be at least 1")
        self.persons = persons
        self.seed = seed
        rng = random.Random(seed)
        used: set[str] = set()

        def orgnr() -> str:
            while (value := synthetic_orgnr(rng)) in used:
                pass
            used.add(value)
            return value

        n_schools = _clamp(persons // 2500, len(COUNTIES), 420)
        weights = [share for _, _, share in COUNTIES]
        school_counts = [1] * len(COUNTIES)
        for index in rng.choices(range(len(COUNTIES)), weights=weights, k=n_schools - len(COUNTIES)):
            school_counts[index] += 1
        self.counties = [
            County(number, name, orgnr(), tuple(orgnr() for _ in range(count)))
            for (number, name, _), count in zip(COUNTIES, school_counts, strict=True)
        ]
        self.county_weights = weights
        self.universities = [
            Institution(
                orgnr(),
                f"Syntetisk universitet {k + 1}",
                f"Synthetic University {k + 1}",
                str(9300 + k),
                f"N  SYNTUNI{k + 1:02d}",
                f"u{k + 1}.synthetic.example",
                f"9997{k + 1:05d}",
            )
            for k in range(_clamp(2 + persons // 60_000, 3, 36))
        ]
        self.fagskoler = [orgnr() for _ in range(_clamp(1 + persons // 80_000, 2, 70))]
        self.course_providers = [orgnr() for _ in range(_clamp(2 + persons // 100_000, 2, 100))]
        # Each university's catalogue: 25 courses per field, shared by all its students.
        self.catalogues = [self._catalogue(k) for k in range(len(self.universities))]

    @staticmethod
    def _catalogue(university: int) -> list[list[Course]]:
        fields = []
        for prefix, isced, nus, stem in FIELDS:
            courses = []
            for k in range(25):
                level = 1000 + 1000 * (k // 10) + k
                eqf = 7 if level >= 3000 else 6
                credits = ("7.5", "10", "15", "10", "5")[(university + k) % 5]
                courses.append(
                    Course(
                        f"{prefix}{level}",
                        f"{stem} {k + 1}",
                        f"{stem} {k + 1} (en)",
                        credits,
                        f"{nus}{k % 10:02d}",
                        isced,
                        eqf=eqf,
                    )
                )
            fields.append(courses)
        return fields

    def organisations(self) -> list[DemoOrganisation]:
        """Every organisation to register, those delivered for before those that deliver for them."""
        orgs: list[DemoOrganisation] = []
        for county in self.counties:
            for n, school in enumerate(county.schools, 1):
                orgs.append(DemoOrganisation(school, f"{county.name} vgs {n} (syntetisk)", "school"))
        for county in self.counties:
            orgs.append(
                DemoOrganisation(
                    county.orgnr,
                    f"{county.name} fylkeskommune (syntetisk)",
                    "county",
                    delivers_for=county.schools,
                )
            )
        orgs.extend(institution.organisation() for institution in self.universities)
        orgs.extend(
            DemoOrganisation(f, f"Syntetisk fagskole {n}", "fagskole")
            for n, f in enumerate(self.fagskoler, 1)
        )
        orgs.extend(
            DemoOrganisation(c, f"Syntetisk kursleverandør {n} AS", "course_provider")
            for n, c in enumerate(self.course_providers, 1)
        )
        return orgs

    def write_deliveries(
        self, out_dir: Path, *, file_records: int = 200_000, first: int = 0, count: int | None = None
    ) -> tuple[list[DeliveryFile], PopulationCounts]:
        """Write the delivery files of persons ``first`` … ``first + count - 1`` under ``out_dir``.

        Files are returned in import order (all primary files, then vocational, ELMO, micro).
        """
        count = self.persons - first if count is None else count
        out_dir.mkdir(parents=True, exist_ok=True)
        files = _FileSet(out_dir, file_records, tag=f"p{first}")
        counts = PopulationCounts()
        nins = NinSequence()
        # Keep the id sequence of a slice the same as in the whole: draw the ids of earlier persons.
        for index in range(first):
            nins.take(self._birth_year(random.Random(self._person_seed(index))))
        for index in range(first, first + count):
            rng = random.Random(self._person_seed(index))
            birth_year = self._birth_year(rng)
            person = SyntheticPerson(
                nins.take(birth_year), rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES), birth_year
            )
            counts.persons += 1
            for kind, provider, rows in self._person_results(index, rng, person):
                counts.by_kind[kind] += files.add(kind, provider, rows)
        delivered = files.close()
        counts.achievements = sum(counts.by_kind.values())
        return delivered, counts

    def _person_seed(self, index: int) -> int:
        return self.seed * 10_000_019 + index

    @staticmethod
    def _birth_year(rng: random.Random) -> int:
        # Fewer people in the oldest cohorts; 1950–2007 so that every school career has ended.
        return min(2007, 1950 + int(58 * rng.random() ** 0.8))

    # --- one person's results, as provider rows -------------------------------------------------

    def _person_results(
        self, index: int, rng: random.Random, person: SyntheticPerson
    ) -> Iterator[tuple[str, str, Any]]:
        county = self.counties[rng.choices(range(len(self.counties)), weights=self.county_weights)[0]]
        school = rng.choice(county.schools)
        vocational_track = rng.random() < 0.38
        if rng.random() < 0.88:
            yield "primary-csv", county.orgnr, self._school_rows(index, rng, person, school, vocational_track)
        if vocational_track and rng.random() < 0.45:
            yield "primary-csv", county.orgnr, [self._trade_row(index, rng, person, county)]
        young_enough = person.birth_year <= 2004
        if young_enough and rng.random() < 0.10:
            fagskole = self.fagskoler[index % len(self.fagskoler)]
            yield "vocational-csv", fagskole, self._fagskole_rows(index, rng, person, fagskole)
        if young_enough and rng.random() < (0.25 if vocational_track else 0.55):
            university = rng.randrange(len(self.universities))
            transcript, n_records = self._transcript(rng, person, university)
            yield "elmo", self.universities[university].orgnr, (n_records, transcript)
        if person.birth_year <= 2002 and rng.random() < 0.12:
            provider = self.course_providers[rng.randrange(len(self.course_providers))]
            yield "micro-elm", provider, self._micro_credentials(index, rng, person, provider)

    def _school_rows(
        self, index: int, rng: random.Random, person: SyntheticPerson, school: str, vocational: bool
    ) -> list[list[str]]:
        finished = person.birth_year + 19
        issued = f"{finished}-06-20"
        if vocational:
            document, programme = "kompetansebevis", "Elektro og datateknologi"
            subjects = rng.sample(COMMON_SUBJECTS[:8], 6) + rng.sample(VOCATIONAL_SUBJECTS, 6)
        else:
            document, programme = "vitnemal", "Studiespesialisering"
            subjects = rng.sample(COMMON_SUBJECTS, 11) + rng.sample(ACADEMIC_SUBJECTS, 9)
        doc_id = f"VGS-{finished}-{index:09d}"
        head = [
            person.nin,
            person.given_name,
            person.family_name,
            school,
            document,
            doc_id,
            issued,
            programme,
        ]
        rows = []
        exams = set(rng.sample(range(len(subjects)), min(4, len(subjects))))
        for k, (code, title) in enumerate(subjects):
            year = finished - 2 + k * 3 // len(subjects)
            school_year = f"{year - 1}-{year}"
            grade = rng.choices(GRADES_1_6, weights=STANDPUNKT_WEIGHTS)[0]
            rows.append([*head, school_year, code, title, "standpunkt", grade, "", "", "", ""])
            if k in exams:
                kind = rng.choice(("skriftlig_eksamen", "muntlig_eksamen"))
                exam_grade = rng.choices(GRADES_1_6, weights=EXAM_WEIGHTS)[0]
                rows.append([*head, school_year, code, title, kind, exam_grade, f"{year}-05-{rng.randint(18, 31)}", "", "", ""])  # fmt: skip
        last_year = f"{finished - 1}-{finished}"
        rows.append([*head, last_year, "", "", "orden", rng.choices(("G", "NG", "LG"), (90, 8, 2))[0], "", "", "", ""])  # fmt: skip
        rows.append([*head, last_year, "", "", "atferd", rng.choices(("G", "NG", "LG"), (93, 6, 1))[0], "", "", "", ""])  # fmt: skip
        # The document itself is a record too (made from its first row): rows + 1 achievements.
        rows.append([])
        return rows

    def _trade_row(
        self, index: int, rng: random.Random, person: SyntheticPerson, county: County
    ) -> list[str]:
        year = person.birth_year + 20
        code, title = rng.choice(TRADES)
        document = "svennebrev" if code.startswith(("BA", "TP")) and rng.random() < 0.3 else "fagbrev"
        grade = rng.choices(("bestått meget godt", "bestått", "ikke bestått"), (22, 70, 8))[0]
        return [
            person.nin, person.given_name, person.family_name, county.orgnr, document,
            f"FB-{year}-{index:09d}", f"{year}-{rng.randint(1, 12):02d}-15", "", f"{year - 1}-{year}", "", "",
            "fagprove" if document == "fagbrev" else "svenneprove", grade, f"{year}-{rng.randint(1, 12):02d}-05",
            code, title, county.number,
        ]  # fmt: skip

    def _fagskole_rows(
        self, index: int, rng: random.Random, person: SyntheticPerson, fagskole: str
    ) -> list[list[str]]:
        code, title, level, size = rng.choice(FAGSKOLE_EDUCATIONS)
        start = person.birth_year + rng.randint(21, 35)
        start = min(start, LAST_YEAR - 1)
        diploma = f"{start + 1}-06-16"
        rows = []
        for k in range(rng.randint(4, 8)):
            year = start + k // 4
            term = "H" if k % 2 == 0 else "V"
            grade = rng.choices(A_TO_F, weights=A_TO_F_WEIGHTS)[0]
            rows.append([
                person.nin, person.given_name, person.family_name, fagskole, code, title, level, str(size),
                f"{code}-{100 + k}", f"{title} {k + 1}", ("10", "15", "20")[k % 3], grade,
                f"{year}-{'12' if term == 'H' else '06'}-1{k % 10}", f"{year}{term}", "",
                f"FV-{index:09d}", diploma,
            ])  # fmt: skip
        rows.append([])  # the vitnemål record
        return rows

    def _transcript(
        self, rng: random.Random, person: SyntheticPerson, university: int
    ) -> tuple[Transcript, int]:
        catalogue = self.catalogues[university]
        major = rng.randrange(len(catalogue))
        start = min(person.birth_year + rng.randint(19, 24), LAST_YEAR - 1)
        shape = rng.random()
        n_courses = rng.randint(1, 9) if shape < 0.18 else rng.randint(10, 40)
        pool = catalogue[major] + rng.choice(catalogue)
        chosen = [pool[rng.randrange(len(pool))] for _ in range(n_courses)]
        seen: set[str] = set()
        parts: list[Result] = []
        free: list[Result] = []
        for k, course in enumerate(chosen):
            if course.code in seen:
                continue
            seen.add(course.code)
            year = min(start + k // 8, LAST_YEAR)
            date = dt.date(year, 12 if k % 2 == 0 else 6, 10 + k % 15)
            grade = rng.choices(A_TO_F, weights=A_TO_F_WEIGHTS)[0]
            result = Result(course, grade, date, status="failed" if grade == "F" else "passed")
            if n_courses >= 10 and grade != "F":
                result.credits = False  # the degree carries the credits (ELMO: no double counting)
                parts.append(result)
            else:
                free.append(result)
        results: list[Result] = []
        if parts:
            degree = Course(
                f"BA{FIELDS[major][0]}", f"Bachelor i {FIELDS[major][3].lower()}",
                f"Bachelor of {FIELDS[major][3]}", "180", f"{FIELDS[major][2]}01", FIELDS[major][1],
                kind="Degree Programme",
            )  # fmt: skip
            finished = min(start + 3, LAST_YEAR)
            results.append(Result(degree, "Bestått", dt.date(finished, 6, 20), parts=parts))
        results.extend(free)
        n_records = sum(1 + len(r.parts) for r in results)
        return Transcript(person, self.universities[university], results), n_records

    def _micro_credentials(
        self, index: int, rng: random.Random, person: SyntheticPerson, provider: str
    ) -> list[dict[str, Any]]:
        credentials = []
        for k in range(rng.choices((1, 2, 3), (60, 28, 12))[0]):
            title, outcomes, ects, hours, eqf, isced = MICRO_COURSES[rng.randrange(len(MICRO_COURSES))]
            day = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 6 * 365))
            credentials.append(
                elm_credential(
                    credential_id=f"urn:credential:synthetic-{index}-{k}",
                    learner=person,
                    issuer_orgnr=provider,
                    issuer_name=f"Kursleverandør {provider}",
                    title=title,
                    outcomes=outcomes,
                    ects=ects,
                    hours=hours,
                    eqf=eqf,
                    iscedf=isced,
                    assessment="praktisk prøve",
                    participation="nettbasert",
                    issued=dt.datetime.combine(day, dt.time(12), dt.UTC),
                )
            )
        return credentials


# --- streaming writers ------------------------------------------------------------------------------


class _OpenFile:
    def __init__(self, kind: str, provider: str, path: Path) -> None:
        self.kind, self.provider, self.path = kind, provider, path
        self.handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        self.achievements = 0
        self.items = 0
        self.writer: Any = None
        if kind in ("primary-csv", "vocational-csv"):
            self.writer = csv.writer(self.handle, delimiter=";", lineterminator="\n")
            self.writer.writerow(PRIMARY_HEADER if kind == "primary-csv" else VOCATIONAL_HEADER)
        elif kind == "elmo":
            self.handle.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<elmoBatch xmlns="{ELMO_NS}">\n')
        else:
            self.handle.write("[")

    def add(self, rows: Any) -> None:
        if self.kind in ("primary-csv", "vocational-csv"):
            for row in rows:
                if row:  # an empty row marks the document record, which has no row of its own
                    self.writer.writerow(row)
                self.achievements += 1
        elif self.kind == "elmo":
            n_records, transcript = rows
            for fragment in elmo_fragments(transcript):
                self.handle.write(fragment)
            self.achievements += n_records
        else:
            for credential in rows:
                self.handle.write(
                    ("," if self.items else "") + json.dumps(credential, ensure_ascii=False) + "\n"
                )
                self.items += 1
                self.achievements += 1

    def close(self) -> DeliveryFile:
        if self.kind == "elmo":
            self.handle.write("</elmoBatch>\n")
        elif self.kind == "micro-elm":
            self.handle.write("]\n")
        self.handle.close()
        content_type = {"elmo": "application/xml", "micro-elm": "application/json"}.get(self.kind, "text/csv")
        return DeliveryFile(
            self.kind, SECTOR_OF_KIND[self.kind], self.provider, self.path, content_type, self.achievements
        )


class _FileSet:
    """One open file per (kind, provider); a file is closed and another begun at ``limit`` achievements."""

    SUFFIX: ClassVar[dict[str, str]] = {
        "primary-csv": "csv",
        "vocational-csv": "csv",
        "elmo": "xml",
        "micro-elm": "json",
    }

    def __init__(self, out_dir: Path, limit: int, tag: str) -> None:
        self.out_dir, self.limit, self.tag = out_dir, limit, tag
        self.open: dict[tuple[str, str], _OpenFile] = {}
        self.done: list[DeliveryFile] = []
        self.serial = 0

    def add(self, kind: str, provider: str, rows: Any) -> int:
        """Write one person's rows for one provider; returns the achievements they make."""
        current = self.open.get((kind, provider))
        if current is None:
            self.serial += 1
            name = f"{kind}-{provider}-{self.tag}-{self.serial:05d}.{self.SUFFIX[kind]}"
            current = self.open[(kind, provider)] = _OpenFile(kind, provider, self.out_dir / name)
        before = current.achievements
        current.add(rows)
        added = current.achievements - before
        if current.achievements >= self.limit:
            self.done.append(current.close())
            del self.open[(kind, provider)]
        return added

    def close(self) -> list[DeliveryFile]:
        self.done.extend(f.close() for f in self.open.values())
        self.open.clear()
        order = {kind: n for n, kind in enumerate(KINDS)}
        return sorted(self.done, key=lambda f: (order[f.kind], f.path.name))


def write_elmo_of_size(
    population: Population, path: Path, target_bytes: int, *, first: int, first_year: int = 1949
) -> int:
    """One university's ELMO batch file of at least ``target_bytes``, for fresh persons from ``first``.

    The persons are new to the register (born in ``first_year`` and earlier, the population from 1950),
    so importing the file writes every record. The file is delivered by ``population.universities[0]``.
    Returns the number of records written.
    """
    nins = NinSequence()
    records = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<elmoBatch xmlns="{ELMO_NS}">\n')
        index = first
        # Ids from birth year first_year down: the population's own persons are born 1950–2007.
        year = first_year
        written = 0
        while written < target_bytes:
            rng = random.Random(population._person_seed(index))
            try:
                nin = nins.take(year)
            except ValueError:
                year -= 1
                if year < 1900:  # the individual numbers 000–499 are those of 1900–1999
                    raise ValueError("no synthetic national ids left before 1900") from None
                continue
            person = SyntheticPerson(nin, rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES), 1980)
            transcript, n = population._transcript(rng, person, 0)
            records += n
            for fragment in elmo_fragments(transcript):
                written += out.write(fragment)
            index += 1
        out.write("</elmoBatch>\n")
    return records
