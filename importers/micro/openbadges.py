"""1EdTech Open Badges 3.0 (``OpenBadgeCredential`` / ``AchievementCredential``) → ``CredentialFacts``.

Property names are those of the OB 3.0 context (context-3.0.x.json), read as compacted JSON. Open Badges
has no fields for several of the Council's elements; where an OB construct comes close it is used, and
the mapping is spelled out in docs/formats/micro.md:

- learning outcomes ← the achievement's ``alignment`` targets (competences it is aligned to);
- level ← an alignment to an EQF level (``http://data.europa.eu/snb/eqf/N``) or to NKR;
- type of assessment ← the achievement's ``resultDescription`` (what results are given, and how);
- quality assurance ← endorsements (``EndorsementCredential``) of the achievement or the issuer.
"""

from __future__ import annotations

from typing import Any

from importers.micro.common import (
    ORGNR_SCHEME_NAMES,
    as_list,
    decimal_or_none,
    first_dict,
    is_global_id,
    lang_map,
    orgnr_of,
    parse_timestamp,
    register_date,
    types_of,
)
from importers.micro.council import CredentialFacts
from register.grading import is_valid_eqf, is_valid_nkr
from register.records import OrgRef

OB_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
EQF_PREFIX = "http://data.europa.eu/snb/eqf/"
ISCEDF_PREFIX = "http://data.europa.eu/snb/isced-f/"
NATIONAL_ID_TYPES = frozenset({"nationalidentitynumber"})
MAX_NARRATIVE = 2000


def is_open_badge(credential: dict[str, Any]) -> bool:
    return bool(OB_TYPES & types_of(credential))


def read_open_badge(credential: dict[str, Any]) -> CredentialFacts:
    facts = CredentialFacts(format="ob3")
    facts.credential_id = credential.get("id") if isinstance(credential.get("id"), str) else None
    subject = first_dict(credential.get("credentialSubject")) or {}
    achievement = first_dict(subject.get("achievement")) or {}
    language = str(achievement["inLanguage"]) if isinstance(achievement.get("inLanguage"), str) else "und"
    _learner(subject, facts)
    _issuer(credential, facts)
    _achievement_spec(credential, achievement, language, facts)
    _result(credential, subject, achievement, facts)
    return facts


def _learner(subject: dict[str, Any], facts: CredentialFacts) -> None:
    for identity in as_list(subject.get("identifier")):
        if not isinstance(identity, dict):
            continue
        kind = str(identity.get("identityType", "")).strip().casefold()
        value = identity.get("identityHash")
        if kind not in NATIONAL_ID_TYPES or not isinstance(value, str):
            continue
        if identity.get("hashed") is True:
            facts.nin_hashes.append((value, str(identity.get("salt") or "")))
        else:
            facts.nins.append(value.strip())


def _profile_orgnr(profile: dict[str, Any]) -> str | None:
    for entry in as_list(profile.get("otherIdentifier")):
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("identifierType", "")).strip().casefold()
        value = entry.get("identifier")
        # "0192:" is the ISO 6523 code of the Norwegian register of legal entities (as Maskinporten uses)
        if kind in ORGNR_SCHEME_NAMES or (isinstance(value, str) and value.strip().startswith("0192:")):
            found = orgnr_of(value)
            if found:
                return found
    return None


def _issuer(credential: dict[str, Any], facts: CredentialFacts) -> None:
    issuer = credential.get("issuer")
    profile = issuer if isinstance(issuer, dict) else {"id": issuer} if isinstance(issuer, str) else None
    if profile is None:
        return
    facts.awarding_name = profile.get("name") if isinstance(profile.get("name"), str) else None
    address = first_dict(profile.get("address")) or {}
    country = address.get("addressCountryCode") or address.get("addressCountry")
    orgnr = _profile_orgnr(profile)
    if orgnr:
        facts.awarding_org = OrgRef("orgnr", orgnr)
        facts.issuer_country = str(country) if country else "NO"
        return
    facts.issuer_country = str(country) if isinstance(country, str) and country.strip() else None
    if is_global_id(profile.get("id")):
        facts.awarding_org = OrgRef("issuer", str(profile["id"]))
    else:
        facts.awarding_unidentified = f"the issuer {profile.get('id')!r} has neither a Norwegian organisation number nor a web or DID id"


def _achievement_spec(
    credential: dict[str, Any], achievement: dict[str, Any], language: str, facts: CredentialFacts
) -> None:
    facts.title = lang_map(achievement.get("name"), language)
    if not facts.title and achievement == {}:
        # a credential without an achievement (as in the VC-JWT test fixture) is named by itself
        facts.title = lang_map(credential.get("name"), language)
    facts.description = lang_map(achievement.get("description"), language)
    if is_global_id(achievement.get("id")):
        facts.specification_id = str(achievement["id"])
    for alignment in as_list(achievement.get("alignment")):
        if not isinstance(alignment, dict):
            continue
        url = str(alignment.get("targetUrl", ""))
        framework = str(alignment.get("targetFramework", ""))
        code = str(alignment.get("targetCode", "")).strip()
        if url.startswith(EQF_PREFIX) and url[len(EQF_PREFIX) :].isdigit():
            level = int(url[len(EQF_PREFIX) :])
            facts.eqf_level = level if is_valid_eqf(level) else facts.eqf_level
        elif framework.strip().upper() == "EQF" and code.isdigit() and is_valid_eqf(int(code)):
            facts.eqf_level = int(code)
        elif framework.strip().upper() in ("NKR", "NQF-NO") and is_valid_nkr(code):
            facts.nkr_level = code
            facts.nqf_level = f"NKR {code}"
        elif url.startswith(ISCEDF_PREFIX) and url[len(ISCEDF_PREFIX) :].isdigit():
            facts.iscedf_codes.append(url[len(ISCEDF_PREFIX) :])
        else:
            name = alignment.get("targetName")
            if isinstance(name, str) and name.strip() and name.strip() not in facts.learning_outcomes:
                facts.learning_outcomes.append(name.strip())
    credits = decimal_or_none(achievement.get("creditsAvailable"))
    if credits is not None:
        # OB 3.0 says "credit hours" and names no scheme: kept as stated, never read as ECTS or hours
        facts.workload_other = {"credits_available": str(credits), "unit": "Open Badges credit hours"}
    descriptions = [d for d in as_list(achievement.get("resultDescription")) if isinstance(d, dict)]
    if descriptions:
        facts.assessment = {
            "results": [
                {k: d[k] for k in ("name", "resultType", "requiredValue") if isinstance(d.get(k), str)}
                for d in descriptions
            ]
        }
    endorsements = as_list(achievement.get("endorsement"))
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        endorsements += as_list(issuer.get("endorsement"))
    endorsements += as_list(credential.get("endorsement"))
    qa: list[dict[str, Any]] = []
    for endorsement in endorsements:
        if isinstance(endorsement, dict) and _endorsement(endorsement) not in qa:
            qa.append(_endorsement(endorsement))
    if qa:
        facts.quality_assurance = {"endorsements": qa}
    criteria = first_dict(achievement.get("criteria")) or {}
    if isinstance(criteria.get("narrative"), str):
        facts.spec_details["criteria"] = criteria["narrative"][:MAX_NARRATIVE]
    for key, target in (("achievementType", "achievement_type"), ("fieldOfStudy", "field_of_study")):
        if isinstance(achievement.get(key), str):
            facts.spec_details[target] = achievement[key]
    if isinstance(achievement.get("humanCode"), str):
        facts.spec_details["human_code"] = achievement["humanCode"]


def _endorsement(node: dict[str, Any]) -> dict[str, Any]:
    issuer = node.get("issuer")
    name = issuer.get("name") if isinstance(issuer, dict) else issuer
    subject = first_dict(node.get("credentialSubject")) or {}
    out: dict[str, Any] = {"endorser": name}
    if isinstance(subject.get("endorsementComment"), str):
        out["comment"] = subject["endorsementComment"][:MAX_NARRATIVE]
    return out


def _result(
    credential: dict[str, Any], subject: dict[str, Any], achievement: dict[str, Any], facts: CredentialFacts
) -> None:
    for key in ("awardedDate", "validFrom", "issuanceDate"):
        stamp = parse_timestamp(credential.get(key))
        if stamp:
            facts.issued_on, facts.issued_at = register_date(stamp), str(credential[key])
            break
    if isinstance(credential.get("validFrom") or credential.get("issuanceDate"), str):
        facts.valid_from = str(credential.get("validFrom") or credential.get("issuanceDate"))
    until = credential.get("validUntil") or credential.get("expirationDate")
    if isinstance(until, str):
        facts.valid_until, facts.valid_until_at = until, parse_timestamp(until)
    descriptions = {
        d.get("id"): d for d in as_list(achievement.get("resultDescription")) if isinstance(d, dict)
    }
    for result in as_list(subject.get("result")):
        if isinstance(result, dict) and isinstance(result.get("value"), str) and result["value"].strip():
            facts.grade = result["value"].strip()
            described = descriptions.get(result.get("resultDescription")) or {}
            name = described.get("name")
            facts.grading_scheme = name if isinstance(name, str) else None
            break
    status = first_dict(credential.get("credentialStatus"))
    if status:
        facts.credential_status = {k: status[k] for k in ("id", "type", "statusPurpose") if k in status}
    for key, target in (
        ("activityStartDate", "activity_start"),
        ("activityEndDate", "activity_end"),
        ("term", "term"),
        ("licenseNumber", "license_number"),
        ("role", "role"),
    ):
        if isinstance(subject.get(key), str):
            facts.achievement_details[target] = subject[key]
    earned = decimal_or_none(subject.get("creditsEarned"))
    if earned is not None:
        facts.achievement_details["credits_earned"] = str(earned)
    evidence = as_list(credential.get("evidence"))
    if evidence:
        facts.achievement_details["evidence_count"] = len(evidence)
