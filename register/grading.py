"""Grade scales, credit schemes and qualification levels — the register's code lists, as data.

A grade is always kept exactly as delivered (scheme + value). Next to it the register stores a
normalized ``passed``: True, False, or None where pass/fail does not apply (an exemption).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class Sector(enum.StrEnum):
    PRIMARY = "primary"  # grunnopplæring: grunnskole, videregående, fag-/svennebrev
    VOCATIONAL = "vocational"  # fagskoler
    HIGHER = "higher"  # universiteter og høgskoler
    MICRO = "micro"  # micro-credentials, lifelong learning


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
    EXTERNAL = "external"  # a scale the register does not know; kept as delivered


@dataclass(frozen=True, slots=True)
class GradeValue:
    value: str  # canonical spelling
    passed: bool | None
    label_nb: str


def _scale(*values: GradeValue) -> dict[str, GradeValue]:
    return {v.value.casefold(): v for v in values}


# Special codes used across the school scales.
IV = GradeValue("IV", False, "ikke vurderingsgrunnlag")
FRITATT = GradeValue("fritatt", None, "fritatt")

SCALES: dict[GradeScheme, dict[str, GradeValue]] = {
    GradeScheme.NUMERIC_1_6: _scale(
        GradeValue("1", False, "svært lav kompetanse"),
        GradeValue("2", True, "lav kompetanse"),
        GradeValue("3", True, "nokså god kompetanse"),
        GradeValue("4", True, "god kompetanse"),
        GradeValue("5", True, "meget god kompetanse"),
        GradeValue("6", True, "framifrå kompetanse"),
        IV,
        FRITATT,
    ),
    GradeScheme.A_F: _scale(
        GradeValue("A", True, "fremragende"),
        GradeValue("B", True, "meget god"),
        GradeValue("C", True, "god"),
        GradeValue("D", True, "nokså god"),
        GradeValue("E", True, "tilstrekkelig"),
        GradeValue("F", False, "ikke bestått"),
    ),
    GradeScheme.PASS_FAIL: _scale(
        GradeValue("bestått", True, "bestått"),
        GradeValue("ikke bestått", False, "ikke bestått"),
        IV,
        FRITATT,
    ),
    # Orden and atferd are recorded on the vitnemål, not passed or failed; every value is a recorded
    # outcome, so all count as "passed" for the portal's passed-only view (LG is shown on the diploma).
    GradeScheme.CONDUCT: _scale(
        GradeValue("G", True, "god"),
        GradeValue("NG", True, "nokså god"),
        GradeValue("LG", True, "lite god"),
    ),
    GradeScheme.TRADE: _scale(
        GradeValue("bestått meget godt", True, "bestått meget godt"),
        GradeValue("bestått", True, "bestått"),
        GradeValue("ikke bestått", False, "ikke bestått"),
    ),
}

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
