"""One learning opportunity specification (with its instance) → one normalized record; its parts follow."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from importers.higher.elmo.elements import (
    ISO_DATE,
    Kids,
    Learner,
    PendingRecord,
    ReportContext,
    child_named,
    children_named,
    date_of,
    digest,
    identifier_pairs,
    identifiers_in,
    preferred,
    raw_text_of,
    text_of,
    texts_by_lang,
)
from importers.higher.elmo.reader import LEGACY_NS
from register.grading import (
    NKR_TO_EQF,
    AchievementKind,
    CreditScheme,
    GradeScheme,
    SpecificationKind,
    normalize_grade,
    parse_credits,
    recognise_scale,
)
from register.records import (
    AchievementRecord,
    AttachmentIn,
    GradeIn,
    OrgRef,
    PersonIn,
    RecordError,
    SpecificationIn,
)
from register.sectors import Sector

_LOS_KINDS: dict[str, tuple[AchievementKind, SpecificationKind]] = {
    "degree programme": (AchievementKind.DEGREE, SpecificationKind.PROGRAMME),
    "degree": (AchievementKind.DEGREE, SpecificationKind.PROGRAMME),
    "module": (AchievementKind.MODULE, SpecificationKind.MODULE),
    "module group": (AchievementKind.MODULE, SpecificationKind.MODULE),
    "course": (AchievementKind.COURSE_RESULT, SpecificationKind.COURSE),
    "class": (AchievementKind.COURSE_RESULT, SpecificationKind.COURSE),
}

# Identifier types that are attributes of a course rather than its code.
_NOT_A_CODE = frozenset({"nus", "courseversion"})
_CODE_PREFERENCE = ("coursecode", "local", "elmo", "ewp-los-id")

_TERM_YEAR = re.compile(r"\b((?:19|20)\d{2})\b")


@dataclass(slots=True)
class _Instance:
    """What a learning opportunity instance delivers, as read (``LosMapper._instance``)."""

    loi_ids: list[tuple[str, str]]
    start: dt.date | None = None
    completed: dt.date | None = None
    term: str | None = None
    term_info: dict[str, Any] | None = None
    status: str | None = None
    grade_raw: str | None = None
    scheme_id: str | None = None
    engagement: str | None = None
    language: str | None = None
    refs: list[str] = field(default_factory=list)
    credit_elements: list[etree._Element] = field(default_factory=list)
    level_elements: list[etree._Element] = field(default_factory=list)


@dataclass(slots=True)
class LosMapper:
    ctx: ReportContext
    org: OrgRef
    person: PersonIn
    learner: Learner
    schemes: dict[str, dict[str, str]]
    attachments: dict[str, AttachmentIn]
    issue_date: dt.date | None
    issuer_info: dict[str, Any]
    #: ``person_key(person)``, part of every result's source key: the same for all of a report's results,
    #: so digested once per report instead of once per result
    learner_key: str
    double_counted: int = 0

    def map(
        self,
        los: etree._Element,
        path: str,
        parent_key: str | None,
        ancestor_has_credits: bool,
        seen_keys: dict[str, int],
    ) -> Iterator[AchievementRecord | PendingRecord | RecordError]:
        ns, ctx = self.ctx.ns, self.ctx
        ref = f"{ctx.where}/{path}"
        loi = child_named(los, ns, "specifies")
        loi = child_named(loi, ns, "learningOpportunityInstance") if loi is not None else None
        parts = [
            p
            for has in children_named(los, ns, "hasPart")
            for p in children_named(has, ns, "learningOpportunitySpecification")
        ]
        try:
            record, refs, carries_credits = self._record(
                los, loi, ref, parent_key, ancestor_has_credits, parts
            )
        except _Rejected as rejected:
            yield RecordError(record=ref, code=rejected.code, message=rejected.message, path=rejected.path)
            return
        occurrence = seen_keys.get(record.source_key, 0) + 1
        seen_keys[record.source_key] = occurrence
        if occurrence > 1:
            # Two identical learning opportunities in one report: the n-th keeps its own key.
            ctx.warnings.add(
                "elmo.duplicate_result",
                "the same learning opportunity with the same dates appears more than once in the report",
                ref,
            )
            record = _replace_key(record, f"{record.source_key}#{occurrence}")
        missing = [r for r in refs if r not in self.attachments]
        resolved = tuple(self.attachments[r] for r in refs if r in self.attachments)
        if resolved:
            record = with_attachments(record, resolved)
        if missing:
            yield PendingRecord(record, tuple(missing))
        else:
            yield record
        for index, part in enumerate(parts, start=1):
            yield from self.map(
                part,
                f"{path}/hasPart[{index}]",
                record.source_key,
                ancestor_has_credits or carries_credits,
                seen_keys,
            )

    def _record(
        self,
        los: etree._Element,
        loi: etree._Element | None,
        ref: str,
        parent_key: str | None,
        ancestor_has_credits: bool,
        parts: list[etree._Element],
    ) -> tuple[AchievementRecord, list[str], bool]:
        ns, warnings = self.ctx.ns, self.ctx.warnings
        spec_kids = Kids(los, ns)
        identifiers = identifier_pairs(spec_kids.all("identifier"))
        qualification = spec_kids.one("qualification")
        if not identifiers and ns == LEGACY_NS and qualification is not None:
            identifiers = identifiers_in(qualification, ns)  # legacy ELMO names a degree in its qualification
        by_type = {k.lower(): v for k, v in reversed(identifiers)}
        titles = texts_by_lang(spec_kids.all("title"))
        code, code_scheme = _code(identifiers)
        if not titles:
            if code is None:
                raise _Rejected(
                    "elmo.los_untitled",
                    "the learning opportunity has neither a title nor an identifier",
                    "title",
                )
            warnings.add("elmo.los_title_missing", f"no title; the code {code!r} stands for it", ref, "title")
            titles = {"und": code}
        los_type = text_of(spec_kids.one("type"))
        kind, spec_kind = _LOS_KINDS.get(
            (los_type or "").lower(),
            (AchievementKind.MODULE, SpecificationKind.MODULE)
            if parts
            else (AchievementKind.COURSE_RESULT, SpecificationKind.COURSE),
        )
        inst = self._instance(loi, ref)
        start, completed, term, term_info = inst.start, inst.completed, inst.term, inst.term_info
        credit_elements = inst.credit_elements or spec_kids.all("credit")  # legacy ELMO: on the specification
        credits, credit_scheme, other_credits = self._credits(credit_elements, ref)
        eqf, nkr = self._levels(inst.level_elements, ref)
        grade, passed_by_status, descriptions = self._grade(inst, ref)
        details: dict[str, Any] = {}
        record_credits = self._counted_credits(credits, ancestor_has_credits, passed_by_status, ref, details)

        details.update(
            {
                k: v
                for k, v in {
                    "elmo_status": inst.status,
                    # ELMO: an absent status means passed; kept for results that carry no grade
                    "passed": passed_by_status,
                    "elmo_type": los_type,
                    "elmo_version": self.learner.version,
                    "grading_scheme_id": inst.scheme_id,
                    "grading_scheme_descriptions": descriptions or None,
                    "academic_term": term_info,
                    "start": start.isoformat() if start else None,
                    "engagement_hours": inst.engagement,
                    "language_of_instruction": inst.language,
                    "loi_identifiers": dict(inst.loi_ids) or None,
                    "other_credits": other_credits or None,
                    "learner_local_identifiers": self.learner.other_ids or None,
                }.items()
                if v is not None
            }
        )
        nus = by_type.get("nus")
        spec = SpecificationIn(
            kind=spec_kind,
            title=titles,
            code=code,
            code_scheme=code_scheme,
            owner=self.org,
            description=texts_by_lang(spec_kids.all("description"), multiline=True) or None,
            credits=credits,
            credit_scheme=credit_scheme if credits is not None else None,
            nkr_level=nkr,
            eqf_level=eqf,
            nus_code=nus,
            iscedf_code=text_of(spec_kids.one("iscedCode")),
            details={
                k: v
                for k, v in {
                    "elmo_type": los_type,
                    "identifiers": dict(identifiers) or None,
                    "subject_area": text_of(spec_kids.one("subjectArea")),
                    "url": text_of(spec_kids.one("url")),
                }.items()
                if v is not None
            }
            or None,
        )
        # The year the result was achieved, or none: the report's issue date is when the transcript was
        # printed, and giving an undated 2009 result the year 2026 would be a false fact in statistics.
        year = completed.year if completed else _term_year(term)
        los_identity = (code_scheme, code) if code else ("title", preferred(titles), los_type)
        loi_identity: dict[str, Any] = dict(inst.loi_ids) or {
            "start": start.isoformat() if start else None,
            "date": completed.isoformat() if completed else None,
            "term": term_info or term,
        }
        key_hash = digest(self.org.scheme, self.org.value, self.learner_key, los_identity, loi_identity)
        source_key = f"elmo:{self.org.scheme}={self.org.value}:{code or 'untitled'}:{key_hash[:24]}"
        record = AchievementRecord(
            ref=ref,
            source_key=source_key,
            sector=self.ctx.sector,
            kind=kind,
            person=self.person,
            awarding_org=self.org,
            specification=spec,
            grade=grade,
            credits=record_credits,
            credit_scheme=credit_scheme if record_credits is not None else None,
            completed_on=completed,
            year=year,
            term=term,
            parent_key=parent_key,
            details=details or None,
        )
        # A node carries credits for the no-double-counting rule only with a positive value: an outer
        # grouping that says <value>0</value> counts nothing, so its parts keep theirs.
        return record, inst.refs, credits is not None and credits > 0

    def _instance(self, loi: etree._Element | None, where: str) -> _Instance:
        """What the instance says: dates, term, status, grade, attachments, credits and levels."""
        ns, warnings = self.ctx.ns, self.ctx.warnings
        instance = Kids(loi, ns)
        found = _Instance(identifier_pairs(instance.all("identifier")))
        if loi is None:
            return found
        start_element = instance.one("start")
        raw_start = raw_text_of(start_element)
        if raw_start is not None and ns == LEGACY_NS and not ISO_DATE.search(raw_start):
            found.term = " ".join(raw_start.split())  # legacy: start holds the term, "2012 Høst"
        else:
            found.start = date_of(start_element, warnings, where, "learningOpportunityInstance/start")
        found.completed = date_of(instance.one("date"), warnings, where, "learningOpportunityInstance/date")
        term_element = instance.one("academicTerm")
        if term_element is not None:
            term_titles = texts_by_lang(children_named(term_element, ns, "title"))
            term_start = date_of(
                child_named(term_element, ns, "start"), warnings, where, "academicTerm/start"
            )
            term_end = date_of(child_named(term_element, ns, "end"), warnings, where, "academicTerm/end")
            found.term = preferred(term_titles, ("nb", "nn", "en")) or found.term
            found.term_info = {
                "title": term_titles,
                "start": term_start.isoformat() if term_start else None,
                "end": term_end.isoformat() if term_end else None,
            }
            found.completed = found.completed or term_end
        found.status = text_of(instance.one("status"))
        found.scheme_id = text_of(instance.one("gradingSchemeLocalId"))
        found.grade_raw = text_of(instance.one("resultLabel"))
        legacy_result = instance.one("result")
        if found.grade_raw is None and legacy_result is not None:
            found.grade_raw = text_of(legacy_result)
            found.scheme_id = found.scheme_id or legacy_result.get("scheme")
        found.engagement = text_of(instance.one("engagementHours"))
        found.language = text_of(instance.one("languageOfInstruction"))
        attachments = instance.one("attachments")
        if attachments is not None:
            found.refs = [r for r in (text_of(x) for x in children_named(attachments, ns, "ref")) if r]
        found.credit_elements = instance.all("credit")
        found.level_elements = instance.all("level")
        return found

    def _grade(self, inst: _Instance, ref: str) -> tuple[GradeIn | None, bool | None, dict[str, str]]:
        """The grade as delivered, on a register scale when the value is on one; whether it passed; and
        the report's descriptions of its grading scheme.

        The delivered status wins; without one a grade on a known scale decides, and otherwise ELMO's
        rule holds: an absent status means passed.
        """
        ns, warnings = self.ctx.ns, self.ctx.warnings
        status, scheme_id, grade_raw = inst.status, inst.scheme_id, inst.grade_raw
        status_passed = {"passed": True, "failed": False, "in-progress": None}.get((status or "").lower())
        passed_by_status = status_passed if status else True
        grade = None
        descriptions = self.schemes.get(scheme_id or "", {})
        if scheme_id and scheme_id not in self.schemes and ns != LEGACY_NS:
            warnings.add(
                "elmo.grading_scheme_unknown",
                f"gradingSchemeLocalId {scheme_id!r} has no gradingScheme description in the report",
                ref,
                "gradingSchemeLocalId",
            )
        if grade_raw is not None:
            scale = recognise_scale(grade_raw, self.issuer_info.get("country"), preferred(descriptions))
            if scale is GradeScheme.EXTERNAL:
                warnings.add(
                    "elmo.grade_scale_unknown",
                    f"grade {grade_raw!r} is on no scale the register knows for issuer country"
                    f" {self.issuer_info.get('country') or '(none)'}; kept as delivered, passed by"
                    f" {'its status' if status else 'ELMO rule (no status means passed)'}",
                    ref,
                    "resultLabel",
                )
            else:
                passed_by_status = status_passed if status else normalize_grade(scale, grade_raw).passed
            grade = GradeIn(
                scheme=scale,
                value=grade_raw,
                passed=passed_by_status,
                scheme_description=preferred(descriptions),
            )
        return grade, passed_by_status, descriptions

    def _counted_credits(
        self,
        credits: Decimal | None,
        ancestor_has_credits: bool,
        passed: bool | None,
        ref: str,
        details: dict[str, Any],
    ) -> Decimal | None:
        """The credits the record counts. The no-double-counting rule: the outermost node carrying
        credits keeps them; what a record does not count is kept as delivered in ``details``."""
        if credits is not None and ancestor_has_credits:
            details["credits_as_delivered"] = str(credits)
            self.double_counted += 1
            return None
        if credits is not None and credits > 0 and passed is False:
            # ELMO credits are the credits the learner earned; a failed attempt earns none.
            details["credits_as_delivered"] = str(credits)
            self.ctx.warnings.add(
                "elmo.credits_on_fail",
                f"{credits} credits on a failed result; kept as delivered in details, not counted",
                ref,
                "credit",
            )
            return None
        return credits

    def _credits(
        self, elements: list[etree._Element], ref: str
    ) -> tuple[Decimal | None, CreditScheme | None, dict[str, str]]:
        ns, warnings = self.ctx.ns, self.ctx.warnings
        chosen: tuple[Decimal, CreditScheme] | None = None
        others: dict[str, str] = {}
        for element in elements:
            scheme_raw = (text_of(child_named(element, ns, "scheme")) or "").strip()
            value_raw = text_of(child_named(element, ns, "value"))
            if value_raw is None:
                continue
            scheme = _credit_scheme(scheme_raw, self.ctx.sector)
            if scheme is None:
                others[scheme_raw or "(none)"] = value_raw
                continue
            try:
                value = parse_credits(value_raw)
            except (ValueError, InvalidOperation):
                warnings.add("elmo.credits_invalid", f"credits {value_raw!r} are not a number of 0-1000; ignored",
                             ref, "credit/value")  # fmt: skip
                continue
            if chosen is None:
                chosen = (_tidy(value), scheme)
        if chosen is None:
            return None, None, others
        return chosen[0], chosen[1], others

    def _levels(self, elements: list[etree._Element], ref: str) -> tuple[int | None, str | None]:
        ns, warnings = self.ctx.ns, self.ctx.warnings
        eqf: int | None = None
        nkr: str | None = None
        for element in elements:
            level_type = (text_of(child_named(element, ns, "type")) or "").upper()
            value = text_of(child_named(element, ns, "value"))
            if value is None:
                continue
            if level_type == "EQF":
                if value.isdigit() and 1 <= int(value) <= 8:
                    eqf = int(value)
                else:
                    warnings.add(
                        "elmo.level_invalid", f"EQF level {value!r} is not 1-8; ignored", ref, "level"
                    )
            elif level_type in ("NQF", "NKR") and self.issuer_info.get("country") in (None, "NO"):
                if value in NKR_TO_EQF:
                    nkr = value
                else:
                    warnings.add(
                        "elmo.level_invalid",
                        f"NKR level {value!r} is not one of {', '.join(NKR_TO_EQF)}; ignored",
                        ref,
                        "level",
                    )
        return eqf, nkr


class _Rejected(Exception):
    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        self.code, self.message, self.path = code, message, path


def _code(identifiers: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    usable = [(k, v) for k, v in identifiers if k.lower() not in _NOT_A_CODE]
    for wanted in _CODE_PREFERENCE:
        for kind, value in usable:
            if kind.lower() == wanted:
                return value, "fs" if wanted == "coursecode" else f"elmo-{wanted}"
    if usable:
        kind, value = usable[0]
        return value, f"elmo-{kind.lower() or 'identifier'}"[:32]
    return None, None


def _credit_scheme(raw: str, sector: Sector) -> CreditScheme | None:
    lowered = raw.lower()
    if lowered == "ects":
        # A fagskole delivering through FS reports fagskolepoeng on ELMO's one predefined scheme.
        return CreditScheme.FAGSKOLEPOENG if sector is Sector.VOCATIONAL else CreditScheme.ECTS
    if lowered in ("fagskolepoeng", "fsp"):
        return CreditScheme.FAGSKOLEPOENG
    if lowered in ("hours", "engagementhours"):
        return CreditScheme.HOURS
    return None


def _tidy(value: Decimal) -> Decimal:
    # "10.000" and "10" are the same credits; Decimal.normalize alone would write 1E+1.
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _term_year(term: str | None) -> int | None:
    if not term:
        return None
    match = _TERM_YEAR.search(term)
    return int(match[1]) if match else None


def _replace_key(record: AchievementRecord, key: str) -> AchievementRecord:
    return dataclasses.replace(record, source_key=key)


def with_attachments(record: AchievementRecord, attachments: tuple[AttachmentIn, ...]) -> AchievementRecord:
    return dataclasses.replace(record, attachments=record.attachments + attachments)
