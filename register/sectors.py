"""The sectors and the kinds of organisation, declared once, and which organisation may award what.

A new sector is a member of ``Sector`` (with its label), a rule in ``SECTOR_RULES`` and a migration
that widens the database's check constraint; the model's constraint, the API's and the CLI's help and
the demo derive from these (tests/foundation/test_one_definition.py says what is missing).
The matrix is data (docs/sectors.md prints it). The ingest checks every record against it, so that a
course provider cannot put a master's degree into the higher-education sector and a fagskole result
cannot sit at a level no fagskole teaches.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from register.grading import CreditScheme


class Sector(enum.StrEnum):
    PRIMARY = "primary"
    VOCATIONAL = "vocational"
    HIGHER = "higher"
    MICRO = "micro"

    @property
    def label(self) -> str:
        return _SECTOR_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _SECTOR_LABELS[self][1]


_SECTOR_LABELS = {  # bokmål, English
    Sector.PRIMARY: (
        "grunnopplæring: grunnskole, videregående, fag-/svennebrev",
        "primary and secondary education and training, trade certificates",
    ),
    Sector.VOCATIONAL: ("fagskoler", "tertiary vocational education (fagskoler)"),
    Sector.HIGHER: ("universiteter og høgskoler", "universities and university colleges"),
    Sector.MICRO: ("mikrokvalifikasjoner, livslang læring", "micro-credentials, lifelong learning"),
}


class OrganisationKind(enum.StrEnum):
    SCHOOL = "school"
    COUNTY = "county"
    FAGSKOLE = "fagskole"
    UNIVERSITY = "university"
    COURSE_PROVIDER = "course_provider"
    FOREIGN = "foreign"
    OTHER = "other"


def listed(values: Iterable[str]) -> str:
    """``primary, vocational, higher or micro``: the values of an enum (or a tuple) for a help text."""
    names = [str(value) for value in values]
    return f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]


@dataclass(frozen=True, slots=True)
class SectorRule:
    kinds: frozenset[str]  # organisation kinds that may award results in the sector
    nkr_levels: frozenset[str] | None  # NKR levels allowed; None: any
    eqf_levels: frozenset[int] | None  # EQF levels allowed (a foreign result has no NKR level); None: any
    credit_schemes: frozenset[CreditScheme]  # credit schemes allowed on the result and its specification
    why: str  # the rule in words, for the error message


ALL_KINDS = frozenset(OrganisationKind)

SECTOR_RULES: dict[Sector, SectorRule] = {
    # Grunnopplæring: schools award subject grades and vitnemål; the county awards fag-/svennebrev and
    # delivers for its schools. NKR 1-4; no credits (hours at most, for a course without a grade).
    Sector.PRIMARY: SectorRule(
        kinds=frozenset({"school", "county"}),
        nkr_levels=frozenset({"1", "2", "3", "4"}),
        eqf_levels=frozenset({1, 2, 3, 4}),
        credit_schemes=frozenset({CreditScheme.HOURS}),
        why="primary education is awarded by schools and counties at NKR 1-4",
    ),
    # Fagskoler teach at NKR 5.1 and 5.2 (EQF 5) and award fagskolepoeng.
    Sector.VOCATIONAL: SectorRule(
        kinds=frozenset({"fagskole"}),
        nkr_levels=frozenset({"5.1", "5.2"}),
        eqf_levels=frozenset({5}),
        credit_schemes=frozenset({CreditScheme.FAGSKOLEPOENG, CreditScheme.HOURS}),
        why="vocational (fagskole) education is awarded by fagskoler at NKR 5.1 or 5.2 in fagskolepoeng",
    ),
    # Universities and university colleges, and foreign institutions' transcripts: NKR 6-8 at home,
    # EQF 5-8 abroad (EQF 5 is the short cycle many countries teach at universities), in ECTS.
    Sector.HIGHER: SectorRule(
        kinds=frozenset({"university", "foreign"}),
        nkr_levels=frozenset({"6", "7", "8"}),
        eqf_levels=frozenset({5, 6, 7, 8}),
        credit_schemes=frozenset({CreditScheme.ECTS}),
        why="higher education is awarded by universities and university colleges (NKR 6-8) and foreign"
        " institutions (EQF 5-8) in ECTS",
    ),
    # Micro-credentials: anyone registered may issue them, at any level, in ECTS or hours; fagskolepoeng
    # only from a fagskole (checked below).
    Sector.MICRO: SectorRule(
        kinds=ALL_KINDS,
        nkr_levels=None,
        eqf_levels=None,
        credit_schemes=frozenset({CreditScheme.ECTS, CreditScheme.HOURS, CreditScheme.FAGSKOLEPOENG}),
        why="micro-credentials may be issued by any registered organisation",
    ),
}


@dataclass(frozen=True, slots=True)
class SectorProblem:
    code: str
    message: str
    path: str


def check_sector(
    sector: Sector,
    org_kind: str,
    *,
    nkr_level: str | None,
    eqf_level: int | None,
    credit_schemes: tuple[CreditScheme | None, ...],
) -> SectorProblem | None:
    """The first way a record breaks the matrix, or None."""
    rule = SECTOR_RULES[sector]
    if org_kind not in rule.kinds:
        allowed = ", ".join(sorted(rule.kinds))
        return SectorProblem(
            "sector.organisation_kind",
            f"an organisation of kind {org_kind} cannot award {sector.value} results (kinds allowed: {allowed});"
            f" {rule.why}",
            "awarding_org",
        )
    if nkr_level is not None and rule.nkr_levels is not None and nkr_level not in rule.nkr_levels:
        return SectorProblem(
            "sector.level",
            f"NKR level {nkr_level} is not a {sector.value} level ({', '.join(sorted(rule.nkr_levels))}); {rule.why}",
            "specification.nkr_level",
        )
    if (
        nkr_level is None
        and eqf_level is not None
        and rule.eqf_levels is not None
        and eqf_level not in rule.eqf_levels
    ):
        return SectorProblem(
            "sector.level",
            f"EQF level {eqf_level} is not a {sector.value} level"
            f" ({', '.join(str(x) for x in sorted(rule.eqf_levels))}); {rule.why}",
            "specification.eqf_level",
        )
    for scheme in credit_schemes:
        if scheme is None:
            continue
        if scheme not in rule.credit_schemes or (
            scheme is CreditScheme.FAGSKOLEPOENG and org_kind != "fagskole"
        ):
            return SectorProblem(
                "sector.credit_scheme",
                f"{scheme.value} credits cannot be awarded in {sector.value} by an organisation of kind"
                f" {org_kind}; {rule.why}",
                "credits",
            )
    return None
