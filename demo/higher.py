"""Demo data for higher and vocational education: synthetic institutions and students as ELMO.

The documents are written the way FS writes them (issuer identified by FS institution number, Erasmus
code, SCHAC domain and PIC; courses with ECTS, EQF level, NUS code, grading scheme descriptions) and go
through the real importer. ``elmo_document`` is also what the benchmark and the tests build files with.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from demo.load import SHOWCASE, DemoDelivery, DemoOrganisation, DemoSet, DemoSize
from register.namespaces import ELMO_NS
from register.synthetic import SyntheticPerson, synthetic_orgnr, synthetic_person


@dataclass(frozen=True, slots=True)
class Institution:
    orgnr: str
    name_nb: str
    name_en: str
    fs: str  # FS institution number (ELMO issuer identifier "local")
    erasmus: str
    schac: str
    pic: str
    sector: str = "higher"
    county: str | None = None  # SSB's county code

    def organisation(self) -> DemoOrganisation:
        kind = "fagskole" if self.sector == "vocational" else "university"
        codes = {
            "fs": self.fs,
            "erasmus": " ".join(self.erasmus.split()),
            "schac": self.schac,
            "pic": self.pic,
        }
        return DemoOrganisation(
            self.orgnr, self.name_nb, kind, codes=codes, name_en=self.name_en, county=self.county
        )


@dataclass(frozen=True, slots=True)
class Course:
    code: str
    title_nb: str
    title_en: str
    credits: str
    nus: str
    isced: str
    eqf: int = 6
    nkr: str | None = None
    kind: str = "Course"


@dataclass(slots=True)
class Result:
    course: Course
    grade: str
    date: dt.date
    status: str | None = "passed"
    parts: list[Result] = field(default_factory=list)
    credits: bool = True  # False for parts of a result that carries the credits itself


@dataclass(slots=True)
class Transcript:
    person: SyntheticPerson
    institution: Institution
    results: list[Result]


COURSES = (
    Course("INF1000", "Grunnkurs i objektorientert programmering", "Introduction to Object-oriented Programming", "10", "651101", "0613"),
    Course("MAT1100", "Kalkulus", "Calculus", "10", "652102", "0541"),
    Course("EXPHIL03", "Examen philosophicum", "Examen philosophicum", "10", "611101", "0223"),
    Course("BIO1000", "Grunnkurs i biologi", "Elementary Biology", "10", "651000", "0511"),
    Course("ECON1210", "Innføring i mikroøkonomi", "Introductory Microeconomics", "10", "633101", "0311"),
    Course("SOS1000", "Innføring i sosiologi", "Introduction to Sociology", "15", "631101", "0314"),
    Course("HIS1100", "Norsk historie", "Norwegian History", "10", "622101", "0222"),
    Course("PSY1010", "Innføring i psykologi", "Introduction to Psychology", "20", "631901", "0313"),
    Course("INF2100", "Prosjektoppgave i programmering", "Programming Project", "10", "651101", "0613"),
    Course("STK1100", "Sannsynlighetsregning og statistikk", "Probability and Statistics", "10", "652103", "0542"),
)  # fmt: skip
MASTER_COURSES = (
    Course("INF4000", "Programvaretesting", "Software Testing", "10", "754115", "0613", eqf=7),
    Course("INF5100", "Distribuerte systemer", "Distributed Systems", "10", "754115", "0613", eqf=7),
    Course("MAT4300", "Målteori", "Measure Theory", "10", "752102", "0541", eqf=7),
)  # fmt: skip
FAGSKOLE_COURSES = (
    Course("ELK101", "Elektrotekniske fag", "Electrical Engineering Subjects", "15", "453102", "0713", eqf=5, nkr="5.1"),
    Course("AUT201", "Automatisering", "Automation", "15", "453102", "0714", eqf=5, nkr="5.1"),
    Course("HMS100", "Helse, miljø og sikkerhet", "Health, Safety and Environment", "5", "459901", "1022", eqf=5, nkr="5.1"),
    Course("LED300", "Ledelse og økonomi", "Management and Finance", "10", "434101", "0413", eqf=5, nkr="5.1"),
)  # fmt: skip
BACHELOR = Course(
    "BAINF",
    "Bachelor i informatikk",
    "Bachelor of Informatics",
    "180",
    "655101",
    "0613",
    kind="Degree Programme",
)
FAGSKOLE_DIPLOMA = Course(
    "FAGEL", "Fagskoleutdanning i elkraft", "Higher Vocational Education in Electrical Power", "60", "453102",
    "0713", eqf=5, nkr="5.1", kind="Degree Programme",
)  # fmt: skip
A_TO_F = ("A", "B", "B", "C", "C", "C", "D", "D", "E")


def institutions(rng: random.Random) -> list[Institution]:
    return [
        Institution(synthetic_orgnr(rng), "Universitetet i Nordvik (demo)", "University of Nordvik (demo)", "9101",
                    "N  NORDVIK01", "nordvik.demo.no", "999900101", county="18"),
        Institution(synthetic_orgnr(rng), "Høgskulen på Vestkysten (demo)", "Western Coast University College (demo)",
                    "9102", "N  VESTKYST01", "vestkyst.demo.no", "999900102", county="46"),
        Institution(synthetic_orgnr(rng), "Fagskolen i Innlandet (demo)", "Inland Vocational College (demo)", "9201",
                    "N  INNLAND02", "fagskolen-innlandet.demo.no", "999900201", sector="vocational",
                    county="34"),
    ]  # fmt: skip


def _term(date: dt.date) -> tuple[str, str, dt.date, dt.date]:
    if date.month <= 7:
        return f"{date.year} Vår", f"{date.year} Spring", dt.date(date.year, 1, 15), dt.date(date.year, 6, 30)
    return f"{date.year} Høst", f"{date.year} Autumn", dt.date(date.year, 8, 15), dt.date(date.year, 12, 20)


def random_transcript(rng: random.Random, institution: Institution, person: SyntheticPerson) -> Transcript:
    """A student's transcript: a completed degree (or fagskole diploma) with its courses, and free courses."""
    start_year = person.birth_year + 19
    results: list[Result] = []
    if institution.sector == "vocational":
        date = dt.date(start_year + 1, 6, 15)
        parts = [
            Result(c, rng.choice(A_TO_F), dt.date(start_year, 12, 10), credits=False)
            for c in FAGSKOLE_COURSES
        ]
        results.append(Result(FAGSKOLE_DIPLOMA, "Bestått", date, parts=parts))
        return Transcript(person, institution, results)
    courses = rng.sample(COURSES, 6)
    parts = []
    for index, course in enumerate(courses):
        date = dt.date(start_year + index // 2, 6 if index % 2 else 12, 10)
        grade = "Bestått" if course.code.startswith("EXPHIL") else rng.choice(A_TO_F)
        parts.append(Result(course, grade, date, credits=False))
    results.append(Result(BACHELOR, "Bestått", dt.date(start_year + 3, 6, 20), parts=parts))
    for index, course in enumerate(rng.sample(MASTER_COURSES, rng.randint(0, 2))):
        results.append(Result(course, rng.choice(A_TO_F[:6]), dt.date(start_year + 4, 12, 10 + index)))
    if rng.random() < 0.2:
        results.append(Result(rng.choice(COURSES), "F", dt.date(start_year + 1, 12, 12), status="failed"))
    return Transcript(person, institution, results)


def as_of(transcript: Transcript, until: int | None) -> Transcript:
    """The transcript as it stands at the end of ``until``: later results not there yet, and the
    courses of a degree not yet completed standing on their own (carrying their credits)."""
    if until is None:
        return transcript
    results = []
    for result in transcript.results:
        if result.date.year <= until:
            results.append(result)
        else:
            for part in result.parts:
                if part.date.year <= until:
                    part.credits = True
                    results.append(part)
    return Transcript(transcript.person, transcript.institution, results)


def _result_xml(result: Result, out: list[str], indent: str) -> None:
    c = result.course
    term_nb, term_en, term_start, term_end = _term(result.date)
    scheme = "PF" if result.grade in ("Bestått", "Ikke bestått") else "AF"
    out.append(
        f"{indent}<learningOpportunitySpecification>"
        f'<identifier type="local">{escape(c.code)}-1</identifier>'
        f'<identifier type="nus">{c.nus}</identifier>'
        f'<identifier type="courseCode">{escape(c.code)}</identifier>'
        f'<title xml:lang="no">{escape(c.title_nb)}</title><title xml:lang="en">{escape(c.title_en)}</title>'
        f"<type>{c.kind}</type><iscedCode>{c.isced}</iscedCode>"
        f"<specifies><learningOpportunityInstance>"
        f"<date>{result.date.isoformat()}</date>"
    )
    if c.kind == "Course":
        out.append(
            f'<academicTerm><title xml:lang="no">{term_nb}</title><title xml:lang="en">{term_en}</title>'
            f"<start>{term_start.isoformat()}</start><end>{term_end.isoformat()}</end></academicTerm>"
        )
    if result.status:
        out.append(f"<status>{result.status}</status>")
    out.append(
        f"<gradingSchemeLocalId>{scheme}</gradingSchemeLocalId><resultLabel>{escape(result.grade)}</resultLabel>"
    )
    if result.credits and result.status != "failed":
        out.append(f"<credit><scheme>ects</scheme><value>{c.credits}</value></credit>")
    out.append(f"<level><type>EQF</type><value>{c.eqf}</value></level>")
    if c.nkr:
        out.append(f"<level><type>NQF</type><value>{c.nkr}</value></level>")
    out.append("</learningOpportunityInstance></specifies>")
    for part in result.parts:
        out.append("<hasPart>")
        _result_xml(part, out, "")
        out.append("</hasPart>")
    out.append("</learningOpportunitySpecification>\n")


def elmo_fragments(transcript: Transcript, generated: dt.datetime | None = None) -> Iterator[str]:
    """One ``elmo`` element (no XML declaration), in pieces; a batch file concatenates many."""
    generated = generated or dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
    p, inst = transcript.person, transcript.institution
    yield (
        f'<elmo xmlns="{ELMO_NS}">\n<generatedDate>{generated.isoformat()}</generatedDate>\n'
        f'<learner><citizenship>NO</citizenship><identifier type="nationalIdentifier">{p.nin}</identifier>'
        f"<givenNames>{escape(p.given_name)}</givenNames><familyName>{escape(p.family_name)}</familyName></learner>\n"
        f'<report><issuer><country>NO</country><identifier type="local">{inst.fs}</identifier>'
        f'<identifier type="erasmus">{escape(inst.erasmus)}</identifier>'
        f'<identifier type="schac">{inst.schac}</identifier><identifier type="pic">{inst.pic}</identifier>'
        f'<title xml:lang="no">{escape(inst.name_nb)}</title><title xml:lang="en">{escape(inst.name_en)}</title>'
        f"<url>https://{inst.schac}/</url></issuer>\n"
    )
    out: list[str] = []
    for result in transcript.results:
        _result_xml(result, out, "")
    yield "".join(out)
    yield (
        f"<issueDate>{generated.isoformat()}</issueDate>"
        '<gradingScheme localId="AF"><description xml:lang="en">A (excellent) to E (sufficient) pass;'
        ' F fail</description><description xml:lang="no">A (fremragende) til E (tilstrekkelig) er'
        " bestått; F er ikke bestått</description></gradingScheme>"
        '<gradingScheme localId="PF"><description xml:lang="en">Pass/fail</description>'
        '<description xml:lang="no">Bestått/ikke bestått</description></gradingScheme>'
        "</report>\n</elmo>\n"
    )


def elmo_document(transcript: Transcript) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(elmo_fragments(transcript))).encode()


def batch_document(transcripts: list[Transcript]) -> bytes:
    """Many learners in one file: ``elmo`` elements wrapped in one root (how a batch export carries them)."""
    body = "".join(f for t in transcripts for f in elmo_fragments(t))
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<elmoBatch xmlns={quoteattr(ELMO_NS)}>\n{body}"
            "</elmoBatch>\n").encode()  # fmt: skip


def _new_person(rng: random.Random, birth_year: int, seen: set[str]) -> SyntheticPerson:
    """A person whose national id no earlier one of ``seen`` has: two students drawn with one id would be
    one person with every course twice (a few hundred per birth year meet at about one in three)."""
    while (person := synthetic_person(rng, birth_year)).nin in seen:
        pass
    seen.add(person.nin)
    return person


def demo_set(rng: random.Random, size: DemoSize = SHOWCASE) -> DemoSet:
    demo = DemoSet()
    seen: set[str] = set()
    for institution in institutions(rng):
        demo.organisations.append(institution.organisation())
        transcripts = [
            random_transcript(rng, institution, synthetic_person(rng, rng.randint(1975, 2003)))
            for _ in range(6 if institution.sector == "higher" else 4)
        ]
        # One EMREX-style document per student, and the same institution's batch file for the rest.
        first, rest = transcripts[0], transcripts[1:]
        demo.deliveries.append(
            DemoDelivery(
                institution.sector,
                institution.orgnr,
                f"{institution.fs}-emrex.xml",
                elmo_document(first),
                "application/xml",
            )
        )
        demo.deliveries.append(
            DemoDelivery(
                institution.sector,
                institution.orgnr,
                f"{institution.fs}-batch.xml",
                batch_document(rest),
                "application/xml",
            )
        )
        if size == SHOWCASE:
            continue
        # The analysts' years: the students whose degree (or diploma) is completed in each year, more of
        # them every year (3 % of 2025's a year), in one batch file per institution and year.
        for year in size.years:
            base = 12 if institution.sector == "higher" else 4
            cohort = [
                as_of(random_transcript(rng, institution, _new_person(rng, year - 22, seen)), size.until)
                for _ in range(size.people(base, year, growth=0.03))
            ]
            cohort = [t for t in cohort if t.results]
            demo.deliveries.append(
                DemoDelivery(
                    institution.sector,
                    institution.orgnr,
                    f"{institution.fs}-{year}.xml",
                    batch_document(cohort),
                    "application/xml",
                )
            )
    return demo
