"""The mandatory elements of a micro-credential (Council Recommendation of 16 June 2022, Annex I, part I).

Both formats are first read into ``CredentialFacts`` (format-neutral); the eleven elements are checked
on those facts, so ELM and Open Badges meet the same rule. Each element has a decided outcome when it
is missing: ``reject`` (the credential is a ``RecordError``) or ``warn`` (imported, a ``BatchWarning``,
and the element listed under ``missing_elements`` in the achievement's details). The reasons are in
docs/formats/micro.md; the short form is in ``Element.why``.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from register.grading import CreditScheme
from register.records import IdentifierIn, OrgRef


class Outcome(enum.StrEnum):
    REJECT = "reject"
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class Element:
    key: str  # stable, used in error codes: micro.element_missing.<key>
    title: str  # as the Recommendation names it
    outcome: Outcome
    why: str


ELEMENTS: tuple[Element, ...] = (
    Element(
        "learner",
        "identification of the learner",
        Outcome.REJECT,
        "the register keys every result on a person's national id; otherwise it is evidence for no one",
    ),
    Element(
        "title",
        "title of the micro-credential",
        Outcome.REJECT,
        "a result without a name cannot be shown or understood",
    ),
    Element(
        "issuer_country",
        "country/region of the issuer",
        Outcome.WARN,
        "the awarding body is resolved in the register, which records its country",
    ),
    Element(
        "awarding_body",
        "awarding body",
        Outcome.REJECT,
        "every result belongs to a registered organisation that vouches for it",
    ),
    Element(
        "issue_date",
        "date of issuing",
        Outcome.REJECT,
        "a result must be placed in time; both VC data models require a date, so its absence means a broken credential",
    ),
    Element(
        "learning_outcomes",
        "learning outcomes",
        Outcome.WARN,
        "Open Badges has no learning-outcome property; rejecting would refuse almost every badge",
    ),
    Element(
        "workload",
        "notional workload needed to achieve the learning outcomes (in ECTS, wherever possible)",
        Outcome.WARN,
        "the Recommendation itself says 'wherever possible'; badges rarely carry ECTS",
    ),
    Element(
        "level",
        "level (and cycle) of the learning experience (EQF, QF-EHEA), if applicable",
        Outcome.WARN,
        "the Recommendation says 'if applicable'; many short courses have no level",
    ),
    Element(
        "assessment",
        "type of assessment",
        Outcome.WARN,
        "Open Badges has no field for it; its absence does not make the result less true",
    ),
    Element(
        "participation",
        "form of participation in the learning activity",
        Outcome.WARN,
        "neither format requires it and Open Badges has no field for it",
    ),
    Element(
        "quality_assurance",
        "type of quality assurance used to underpin the micro-credential",
        Outcome.WARN,
        "quality assurance concerns the issuer, which the register admits by registering it",
    ),
)
ELEMENTS_BY_KEY = {element.key: element for element in ELEMENTS}


@dataclass(slots=True)
class CredentialFacts:
    """What one credential says, format-neutral; filled by the ELM and Open Badges readers."""

    format: str  # "elm" | "ob3"
    credential_id: str | None = None
    # learner
    nins: list[str] = field(default_factory=list)  # Norwegian national ids found in the credential
    nin_hashes: list[tuple[str, str]] = field(default_factory=list)  # OB hashed ids: (identityHash, salt)
    other_identifiers: list[IdentifierIn] = field(default_factory=list)
    given_name: str | None = None
    family_name: str | None = None
    # awarding body
    awarding_org: OrgRef | None = None
    awarding_name: str | None = None
    awarding_unidentified: str | None = None  # why a present awarding body could not be identified
    issuer_country: str | None = None
    # specification
    title: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    specification_id: str | None = None
    learning_outcomes: list[str] = field(default_factory=list)
    credits: Decimal | None = None
    credit_scheme: CreditScheme | None = None
    workload_hours: Decimal | None = None
    workload_other: dict[str, Any] | None = None  # a workload stated in another unit (OB credit hours)
    eqf_level: int | None = None
    nqf_level: str | None = None  # as labelled ("RQF Level 6", "NKR 5.1")
    nkr_level: str | None = None
    iscedf_codes: list[str] = field(default_factory=list)
    assessment: dict[str, Any] | None = None
    participation: dict[str, Any] | None = None
    quality_assurance: dict[str, Any] | None = None
    spec_details: dict[str, Any] = field(default_factory=dict)
    # achievement
    issued_on: dt.date | None = None
    issued_at: str | None = None  # the timestamp as delivered
    valid_from: str | None = None
    valid_until: str | None = None
    valid_until_at: dt.datetime | None = None
    grade: str | None = None
    grading_scheme: str | None = None
    credential_status: dict[str, Any] | None = None
    achievement_details: dict[str, Any] = field(default_factory=dict)

    def present(self, key: str, *, learner_resolved: bool) -> bool:
        """Whether the element ``key`` is in the credential (the learner may come from the envelope)."""
        if key == "learner":
            return learner_resolved
        if key == "title":
            return any(text.strip() for text in self.title.values())
        if key == "issuer_country":
            return self.issuer_country is not None
        if key == "awarding_body":
            return self.awarding_org is not None
        if key == "issue_date":
            return self.issued_on is not None
        if key == "learning_outcomes":
            return bool(self.learning_outcomes)
        if key == "workload":
            return (
                self.credits is not None or self.workload_hours is not None or self.workload_other is not None
            )
        if key == "level":
            return self.eqf_level is not None or self.nqf_level is not None
        if key == "assessment":
            return bool(self.assessment)
        if key == "participation":
            return bool(self.participation)
        if key == "quality_assurance":
            return bool(self.quality_assurance)
        raise KeyError(key)


def missing_elements(facts: CredentialFacts, *, learner_resolved: bool) -> list[Element]:
    return [e for e in ELEMENTS if not facts.present(e.key, learner_resolved=learner_resolved)]
