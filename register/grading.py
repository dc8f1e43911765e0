"""Grade scales, credit schemes and qualification levels — the register's code lists, as data.

A grade is always kept exactly as delivered (scheme + value). Next to it the register stores a
normalized ``passed``: True, False, or None where pass/fail does not apply (an exemption).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from decimal import Decimal


class AchievementKind(enum.StrEnum):
    SUBJECT_GRADE = "subject_grade"  # standpunkt, orden, atferd
    EXAM = "exam"
    COURSE_RESULT = "course_result"  # emne in higher/vocational education
    MODULE = "module"  # a grouping inside a degree (ELMO hasPart that is neither degree nor course)
    DEGREE = "degree"  # degree, programme or qualification
    DIPLOMA = "diploma"  # vitnemål / kompetansebevis: the document that groups subject results
    TRADE_CERTIFICATE = "trade_certificate"  # fagbrev, svennebrev
    MICRO_CREDENTIAL = "micro_credential"


class SpecificationKind(enum.StrEnum):
    SUBJECT = "subject"  # Udir fagkode
    COURSE = "course"  # FS emnekode
    MODULE = "module"
    PROGRAMME = "programme"
    QUALIFICATION = "qualification"
    DOCUMENT = "document"  # vitnemål, kompetansebevis
    TRADE = "trade"  # lærefag
    MICRO_CREDENTIAL = "micro_credential"


@dataclass(frozen=True, slots=True)
class Assessment:
    """One kind of school assessment (``vurderingstype`` in docs/formats/primary.md) and what it is."""

    code: str  # as the delivery names it
    type: str  # standpunkt, exam, conduct or trade_test
    form: str | None  # exams: written, oral, practical, oral_practical
    title: dict[str, str]  # nb and en, as the API and ELMO label the result


# Standpunkt and the exams of one subject are separate results of the same fagkode: these labels are
# what tells them apart when they are given out (JSON, GraphQL, ELMO).
ASSESSMENTS = {
    a.code: a
    for a in (
        Assessment("standpunkt", "standpunkt", None, {"nb": "Standpunkt", "en": "Overall achievement mark"}),
        Assessment("skriftlig_eksamen", "exam", "written", {"nb": "Skriftlig eksamen", "en": "Written exam"}),
        Assessment("muntlig_eksamen", "exam", "oral", {"nb": "Muntlig eksamen", "en": "Oral exam"}),
        Assessment(
            "praktisk_eksamen", "exam", "practical", {"nb": "Praktisk eksamen", "en": "Practical exam"}
        ),
        Assessment(
            "muntlig_praktisk_eksamen",
            "exam",
            "oral_practical",
            {"nb": "Muntlig-praktisk eksamen", "en": "Oral-practical exam"},
        ),
        Assessment("orden", "conduct", None, {"nb": "Orden", "en": "Order"}),
        Assessment("atferd", "conduct", None, {"nb": "Atferd", "en": "Conduct"}),
        Assessment("fagprove", "trade_test", None, {"nb": "Fagprøve", "en": "Trade test"}),
        Assessment("svenneprove", "trade_test", None, {"nb": "Svenneprøve", "en": "Journeyman's test"}),
    )
}
ASSESSMENT_TYPES = ("standpunkt", "exam", "conduct", "trade_test")
EXAM_FORMS = ("written", "oral", "practical", "oral_practical")


class CreditScheme(enum.StrEnum):
    """Credits are never summed across schemes: ECTS and fagskolepoeng are different things."""

    ECTS = "ects"  # studiepoeng are ECTS credits
    FAGSKOLEPOENG = "fagskolepoeng"
    HOURS = "hours"  # notional workload in hours (micro-credentials, courses without credits)


class GradeScheme(enum.StrEnum):
    NUMERIC_1_6 = "no-1-6"  # grunnopplæring: 1 (lowest) … 6
    A_F = "a-f"  # ECTS letter scale, higher and vocational education
    PASS_FAIL = "pass-fail"  # bestått / ikke bestått
    CONDUCT = "conduct"  # orden and atferd: G, NG, LG
    TRADE = "trade"  # fag-/svennebrev: bestått meget godt / bestått / ikke bestått
    # The scales of the countries EMREX connects (docs/formats/elmo.md says how ELMO is matched to one).
    ECTS = "ects-a-fx"  # ECTS grading scale A-E pass, FX/F fail; also Sweden's A-F scale
    DK_7 = "dk-7"  # Danish 7-trinsskala: 12, 10, 7, 4, 02 pass; 00, -3 fail
    SE_U_G_VG = "se-u-g-vg"  # Swedish underkänd / godkänd / väl godkänd
    FI_0_5 = "fi-0-5"  # Finnish 0 (hylätty) … 5
    FI_PASS_FAIL = "fi-pass-fail"  # hyväksytty / hylätty; godkänd / underkänd in Swedish-language Finland
    DE_1_5 = "de-1-5"  # German 1,0 (best) … 4,0 pass; 5,0 fail
    PL_2_5 = "pl-2-5"  # Polish 2 fail; 3, 3.5, 4, 4.5, 5 pass
    NL_1_10 = "nl-1-10"  # Dutch 1-10; 5.5 and up pass
    EXTERNAL = "external"  # a scale the register does not know; kept as delivered


@dataclass(frozen=True, slots=True)
class GradeValue:
    value: str  # canonical spelling
    passed: bool | None
    label_nb: str
    label_en: str | None = None  # where it differs from the value itself

    def label(self, lang: str) -> str:
        return self.label_nb if lang == "nb" else self.label_en or self.value


def _scale(*values: GradeValue) -> dict[str, GradeValue]:
    return {v.value.casefold(): v for v in values}


# Special codes used across the school scales.
IV = GradeValue("IV", False, "ikke vurderingsgrunnlag", "no basis for assessment")
FRITATT = GradeValue("fritatt", None, "fritatt", "exempted")

SCALES: dict[GradeScheme, dict[str, GradeValue]] = {
    GradeScheme.NUMERIC_1_6: _scale(
        GradeValue("1", False, "svært lav kompetanse", "very low competence"),
        GradeValue("2", True, "lav kompetanse", "low competence"),
        GradeValue("3", True, "nokså god kompetanse", "fairly good competence"),
        GradeValue("4", True, "god kompetanse", "good competence"),
        GradeValue("5", True, "meget god kompetanse", "very good competence"),
        GradeValue("6", True, "framifrå kompetanse", "excellent competence"),
        IV,
        FRITATT,
    ),
    GradeScheme.A_F: _scale(
        GradeValue("A", True, "fremragende", "excellent"),
        GradeValue("B", True, "meget god", "very good"),
        GradeValue("C", True, "god", "good"),
        GradeValue("D", True, "nokså god", "satisfactory"),
        GradeValue("E", True, "tilstrekkelig", "sufficient"),
        GradeValue("F", False, "ikke bestått", "fail"),
    ),
    GradeScheme.PASS_FAIL: _scale(
        GradeValue("bestått", True, "bestått", "pass"),
        GradeValue("ikke bestått", False, "ikke bestått", "fail"),
        IV,
        FRITATT,
    ),
    # Orden and atferd are recorded on the vitnemål, not passed or failed; every value is a recorded
    # outcome, so all count as "passed" for the portal's passed-only view (LG is shown on the diploma).
    GradeScheme.CONDUCT: _scale(
        GradeValue("G", True, "god", "good"),
        GradeValue("NG", True, "nokså god", "fairly good"),
        GradeValue("LG", True, "lite god", "poor"),
    ),
    GradeScheme.TRADE: _scale(
        GradeValue("bestått meget godt", True, "bestått meget godt", "passed with distinction"),
        GradeValue("bestått", True, "bestått", "passed"),
        GradeValue("ikke bestått", False, "ikke bestått", "failed"),
    ),
}


def _numbers(values: list[str], passed_from: int, labels: dict[str, str] | None = None) -> list[GradeValue]:
    """A scale given best-last, where every value from index ``passed_from`` passes."""
    return [GradeValue(v, i >= passed_from, (labels or {}).get(v, v)) for i, v in enumerate(values)]


_GERMAN = ["5,0", "4,0", "3,7", "3,3", "3,0", "2,7", "2,3", "2,0", "1,7", "1,3", "1,0"]
# Dutch grades run 1-10 with one decimal; 5.5 and up pass: the usual rule rounds a final 5.5 up to the
# pass mark 6, and a register that stores 5.5 as failed would contradict the diploma it was printed on.
_DUTCH = [str(n // 10) if n % 10 == 0 else f"{n // 10}.{n % 10}" for n in range(10, 101)]

SCALES.update(
    {
        GradeScheme.ECTS: _scale(
            *_numbers(["F", "FX", "E", "D", "C", "B", "A"], 2, {"F": "fail", "FX": "fail (some more work)"})
        ),
        GradeScheme.DK_7: _scale(*_numbers(["-3", "00", "02", "4", "7", "10", "12"], 2)),
        GradeScheme.SE_U_G_VG: _scale(
            *_numbers(["U", "G", "VG"], 1, {"U": "underkänd", "G": "godkänd", "VG": "väl godkänd"})
        ),
        GradeScheme.FI_0_5: _scale(*_numbers(["0", "1", "2", "3", "4", "5"], 1)),
        GradeScheme.FI_PASS_FAIL: _scale(
            GradeValue("hyväksytty", True, "hyväksytty"), GradeValue("hylätty", False, "hylätty")
        ),
        GradeScheme.DE_1_5: _scale(*_numbers(_GERMAN, 1)),
        GradeScheme.PL_2_5: _scale(*_numbers(["2", "3", "3.5", "4", "4.5", "5"], 1)),
        GradeScheme.NL_1_10: _scale(*_numbers(_DUTCH, _DUTCH.index("5.5"))),
    }
)

# Spellings seen in real exports, mapped to the canonical value.
_ALIASES: dict[GradeScheme, dict[str, str]] = {
    GradeScheme.PASS_FAIL: {
        "b": "bestått",
        "passed": "bestått",
        "pass": "bestått",
        "godkjent": "bestått",
        "ib": "ikke bestått",
        "failed": "ikke bestått",
        "fail": "ikke bestått",
        "ikke godkjent": "ikke bestått",
        "fri": "fritatt",
    },
    GradeScheme.NUMERIC_1_6: {"fri": "fritatt"},
    GradeScheme.TRADE: {"bmg": "bestått meget godt", "ib": "ikke bestått"},
    GradeScheme.DK_7: {"2": "02", "0": "00"},
    GradeScheme.FI_PASS_FAIL: {
        "hyv": "hyväksytty",
        "hyl": "hylätty",
        "godkänd": "hyväksytty",
        "underkänd": "hylätty",
        "pass": "hyväksytty",
        "fail": "hylätty",
    },
    # Decimal comma or point, and whole numbers without decimals: 1.3, 1,3; 2, 2.0, 2,0.
    GradeScheme.DE_1_5: {
        **{g.replace(",", "."): g for g in _GERMAN},
        **{g[0]: g for g in _GERMAN if g.endswith(",0")},
    },
    GradeScheme.PL_2_5: {
        "3,5": "3.5",
        "4,5": "4.5",
        **{f"{n}.0": str(n) for n in range(2, 6)},
        **{f"{n},0": str(n) for n in range(2, 6)},
    },
    GradeScheme.NL_1_10: {
        **{g.replace(".", ","): g for g in _DUTCH if "." in g},
        **{f"{g}.0": g for g in _DUTCH if "." not in g},
        **{f"{g},0": g for g in _DUTCH if "." not in g},
    },
}


class UnknownGrade(ValueError):
    def __init__(self, scheme: GradeScheme, value: str) -> None:
        allowed = ", ".join(v.value for v in SCALES[scheme].values())
        super().__init__(f"grade {value!r} is not on the {scheme.value} scale (allowed: {allowed})")
        self.scheme = scheme
        self.value = value


def normalize_grade(scheme: GradeScheme, raw: str) -> GradeValue:
    """The canonical grade on a known scale; raises UnknownGrade (a per-record rejection)."""
    if scheme is GradeScheme.EXTERNAL:
        raise ValueError("external grades have no register scale; use external_grade()")
    key = " ".join(raw.split()).casefold()
    key = _ALIASES.get(scheme, {}).get(key, key)
    found = SCALES[scheme].get(key)
    if found is None:
        raise UnknownGrade(scheme, raw)
    return found


# Which scales a foreign issuer's grades are tried on, by the issuer's country (ISO 3166-1 alpha-2), in
# order; the first scale the value is on wins. Norway (and an issuer without a country) keeps the
# Norwegian letter and pass/fail scales; every other country falls back to the ECTS scale.
COUNTRY_SCALES: dict[str | None, tuple[GradeScheme, ...]] = {
    None: (GradeScheme.A_F, GradeScheme.PASS_FAIL),
    "NO": (GradeScheme.A_F, GradeScheme.PASS_FAIL),
    "DK": (GradeScheme.DK_7,),
    "SE": (GradeScheme.SE_U_G_VG, GradeScheme.ECTS),
    "FI": (GradeScheme.FI_0_5, GradeScheme.FI_PASS_FAIL),
    "DE": (GradeScheme.DE_1_5,),
    "PL": (GradeScheme.PL_2_5,),
    "NL": (GradeScheme.NL_1_10,),
}
FOREIGN_FALLBACK_SCALES = (GradeScheme.ECTS, GradeScheme.FI_PASS_FAIL, GradeScheme.PASS_FAIL)

# Words in a grading scheme's description that name a scale; tried before the country, so that a
# Finnish issuer's "ECTS grading scale" is read as ECTS, not on the Finnish 0-5 scale.
_DESCRIPTION_WORDS: tuple[tuple[re.Pattern[str], GradeScheme], ...] = (
    (re.compile(r"7[- ]?(trins|point|step|skala|scale)", re.IGNORECASE), GradeScheme.DK_7),
    (re.compile(r"\bECTS\b", re.IGNORECASE), GradeScheme.ECTS),
    (re.compile(r"väl godkänd|\bU\s*/\s*G\s*/\s*VG\b", re.IGNORECASE), GradeScheme.SE_U_G_VG),
    (re.compile(r"hyväksytty|hylätty", re.IGNORECASE), GradeScheme.FI_PASS_FAIL),
)


def recognise_scale(value: str, country: str | None, description: str | None = None) -> GradeScheme:
    """The register scale a delivered grade is on, or EXTERNAL when it is on none the register knows.

    Tried in order: a scale named by the grading scheme's description, the issuer country's scales
    (COUNTRY_SCALES), then for a foreign issuer the ECTS and pass/fail scales. A value must be on the
    scale, so a Danish "B" is not read on the 7-point scale but on the ECTS one.
    """
    candidates: list[GradeScheme] = [
        scheme for pattern, scheme in _DESCRIPTION_WORDS if description and pattern.search(description)
    ]
    country = (country or "").upper() or None
    candidates.extend(COUNTRY_SCALES.get(country, ()))
    if country not in (None, "NO"):
        candidates.extend(FOREIGN_FALLBACK_SCALES)
    for scheme in candidates:
        try:
            normalize_grade(scheme, value)
        except UnknownGrade:
            continue
        return scheme
    return GradeScheme.EXTERNAL


def external_grade(raw: str, passed: bool | None) -> GradeValue:
    """A grade on a scale the register does not know (a foreign institution's), kept as delivered."""
    return GradeValue(raw.strip(), passed, raw.strip())


# NKR (the Norwegian qualifications framework) levels are text; EQF levels are 1-8.
NKR_TO_EQF: dict[str, int] = {
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "5.1": 5,
    "5.2": 5,
    "6": 6,
    "7": 7,
    "8": 8,
}
NKR_LEVELS = tuple(NKR_TO_EQF)
#: what each NKR level is, in bokmål and English (Kompetanse Norge's descriptions, shortened)
NKR_LABELS: dict[str, tuple[str, str]] = {
    "1": ("NKR 1: grunnskole, første del", "NKR 1: primary school, first stage"),
    "2": ("NKR 2: grunnskole, andre del", "NKR 2: primary school, second stage"),
    "3": ("NKR 3: grunnskole, avsluttet", "NKR 3: lower secondary school completed"),
    "4": ("NKR 4: videregående opplæring", "NKR 4: upper secondary education and training"),
    "5.1": ("NKR 5.1: fagskole, første nivå", "NKR 5.1: tertiary vocational, first level"),
    "5.2": ("NKR 5.2: fagskole, andre nivå", "NKR 5.2: tertiary vocational, second level"),
    "6": ("NKR 6: bachelorgrad", "NKR 6: bachelor's degree"),
    "7": ("NKR 7: mastergrad", "NKR 7: master's degree"),
    "8": ("NKR 8: ph.d.-grad", "NKR 8: doctoral degree"),
}
assert set(NKR_LABELS) == set(NKR_TO_EQF)
#: the grade scales' names, bokmål and English
GRADE_SCHEME_LABELS: dict[GradeScheme, tuple[str, str]] = {
    GradeScheme.NUMERIC_1_6: ("karakterskala 1–6", "grades 1–6"),
    GradeScheme.A_F: ("bokstavkarakterer A–F", "letter grades A–F"),
    GradeScheme.PASS_FAIL: ("bestått / ikke bestått", "pass / fail"),
    GradeScheme.CONDUCT: ("orden og atferd", "conduct"),
    GradeScheme.TRADE: ("fag- og svenneprøve", "trade and journeyman's examination"),
    GradeScheme.ECTS: ("ECTS-karakterskala", "ECTS grading scale"),
    GradeScheme.DK_7: ("dansk 7-trinnsskala", "Danish 7-point scale"),
    GradeScheme.SE_U_G_VG: ("svensk U/G/VG", "Swedish U/G/VG"),
    GradeScheme.FI_0_5: ("finsk 0–5", "Finnish 0–5"),
    GradeScheme.FI_PASS_FAIL: ("finsk bestått / ikke bestått", "Finnish pass / fail"),
    GradeScheme.DE_1_5: ("tysk 1–5", "German 1–5"),
    GradeScheme.PL_2_5: ("polsk 2–5", "Polish 2–5"),
    GradeScheme.NL_1_10: ("nederlandsk 1–10", "Dutch 1–10"),
    GradeScheme.EXTERNAL: ("annen skala", "other scale"),
}
assert set(GRADE_SCHEME_LABELS) == set(GradeScheme)


def is_valid_nkr(level: str) -> bool:
    return level in NKR_TO_EQF


def is_valid_eqf(level: int) -> bool:
    return 1 <= level <= 8


def parse_credits(raw: str) -> Decimal:
    """Credits as delivered: decimal comma or point, non-negative, at most one decimal place of sense."""
    value = Decimal(raw.strip().replace(",", "."))
    if not value.is_finite() or value < 0 or value > 1000:
        raise ValueError(f"credits {raw!r} must be a number between 0 and 1000")
    return value
