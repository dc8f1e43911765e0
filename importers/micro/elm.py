"""European Learning Model v3 (Europass digital credentials) → ``CredentialFacts``.

One ``EuropeanDigitalCredential`` may claim several learning achievements (``credentialSubject.hasClaim``);
each top-level claim is one result. Nested parts (``hasPart``) are not separate results: a
micro-credential is awarded whole. Property names are those of the ELM v3 context
(http://data.europa.eu/snb/model/context/edc-ap), read as compacted JSON.
"""

from __future__ import annotations

from typing import Any

from importers.micro.common import (
    ISO3_TO_ISO2,
    NIN_SCHEME_NAMES,
    ORGNR_SCHEME_NAMES,
    as_list,
    concept,
    decimal_or_none,
    duration_hours,
    first_dict,
    is_global_id,
    lang_map,
    last_segment,
    one_text,
    orgnr_of,
    parse_timestamp,
    register_date,
    types_of,
)
from importers.micro.council import CredentialFacts
from register.grading import CreditScheme, is_valid_eqf, is_valid_nkr
from register.records import IdentifierIn, OrgRef

ECTS_FRAMEWORK = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
EQF_PREFIX = "http://data.europa.eu/snb/eqf/"
ISCEDF_PREFIX = "http://data.europa.eu/snb/isced-f/"


def is_elm(credential: dict[str, Any]) -> bool:
    if "EuropeanDigitalCredential" in types_of(credential):
        return True
    subject = first_dict(credential.get("credentialSubject"))
    return subject is not None and "hasClaim" in subject


def read_elm(credential: dict[str, Any]) -> list[tuple[str | None, CredentialFacts]]:
    """The facts of each claimed achievement, with the claim's id (None when there is one claim)."""
    subject = first_dict(credential.get("credentialSubject")) or {}
    claims = [c for c in as_list(subject.get("hasClaim")) if isinstance(c, dict)]
    if not claims:
        claims = [{}]  # no claim: still read the credential, so the missing elements are reported
    results = []
    for claim in claims:
        facts = CredentialFacts(format="elm")
        facts.credential_id = credential.get("id") if isinstance(credential.get("id"), str) else None
        _learner(subject, facts)
        _awarding_body(credential, claim, facts)
        _specification(claim, facts)
        _achievement(credential, claim, facts)
        claim_id = claim.get("id") if len(claims) > 1 and isinstance(claim.get("id"), str) else None
        results.append((claim_id, facts))
    return results


def _learner(subject: dict[str, Any], facts: CredentialFacts) -> None:
    for legal in as_list(subject.get("nationalID")):
        if not isinstance(legal, dict) or not isinstance(legal.get("notation"), str):
            continue
        country = last_segment(concept(legal.get("spatial"))[0])
        value = legal["notation"].strip()
        if country == "NOR":
            facts.nins.append(value)
        elif country:
            scheme = ISO3_TO_ISO2.get(country, f"iso3:{country}")
            facts.other_identifiers.append(IdentifierIn("foreign", value, scheme))
    for ident in as_list(subject.get("identifier")):
        if not isinstance(ident, dict) or not isinstance(ident.get("notation"), str):
            continue
        scheme = str(ident.get("schemeName", "")).strip().casefold()
        if scheme in NIN_SCHEME_NAMES:
            facts.nins.append(ident["notation"].strip())
    facts.given_name = one_text(subject.get("givenName"))
    facts.family_name = one_text(subject.get("familyName"))


def _organisation_orgnr(org: dict[str, Any]) -> str | None:
    for legal in as_list(org.get("registration")) + as_list(org.get("vatIdentifier")):
        if not isinstance(legal, dict):
            continue
        country = last_segment(concept(legal.get("spatial"))[0])
        notation = str(legal.get("notation", ""))
        found = orgnr_of(notation)
        # nine digits are only an organisasjonsnummer when the identifier says it is Norwegian
        if found and (country == "NOR" or (country is None and notation.upper().startswith(("NO", "0192:")))):
            return found
    for ident in as_list(org.get("identifier")):
        if (
            isinstance(ident, dict)
            and str(ident.get("schemeName", "")).strip().casefold() in ORGNR_SCHEME_NAMES
        ):
            found = orgnr_of(ident.get("notation"))
            if found:
                return found
    return None


def _awarding_body(credential: dict[str, Any], claim: dict[str, Any], facts: CredentialFacts) -> None:
    awarded = first_dict(claim.get("awardedBy")) or {}
    org = first_dict(awarded.get("awardingBody")) or first_dict(credential.get("issuer"))
    if org is None:
        return
    facts.awarding_name = one_text(org.get("legalName")) or one_text(org.get("altLabel"))
    location = first_dict(org.get("location")) or {}
    address = first_dict(location.get("address")) or {}
    country = last_segment(concept(address.get("countryCode"))[0])
    orgnr = _organisation_orgnr(org)
    if orgnr:
        facts.awarding_org = OrgRef("orgnr", orgnr)
        facts.issuer_country = country or "NOR"  # an organisasjonsnummer is Norwegian by definition
        return
    facts.issuer_country = country
    homepage = next(
        (
            h.get("contentURL")
            for h in as_list(org.get("homepage"))
            if isinstance(h, dict) and h.get("contentURL")
        ),
        None,
    )
    if is_global_id(org.get("id")):
        facts.awarding_org = OrgRef("issuer", str(org["id"]))
    elif is_global_id(homepage):
        # Europass names organisations by ids local to the document (urn:epass:org:1); the homepage is
        # the one global name it carries, so that is what the cross-walk registers for ELM issuers.
        facts.awarding_org = OrgRef("issuer", str(homepage))
    else:
        facts.awarding_unidentified = (
            f"the awarding body {org.get('id')!r} has no Norwegian organisation number, no web or DID id and"
            " no homepage, so it cannot be matched to a registered organisation"
        )


def _specification(claim: dict[str, Any], facts: CredentialFacts) -> None:
    spec = first_dict(claim.get("specifiedBy")) or {}
    facts.title = lang_map(spec.get("title")) or lang_map(claim.get("title"))
    facts.description = lang_map(spec.get("description")) or lang_map(claim.get("description"))
    if is_global_id(spec.get("id")):
        facts.specification_id = str(spec["id"])
    for outcome in as_list(spec.get("learningOutcome")) + as_list(claim.get("learningOutcome")):
        text = one_text(outcome.get("title")) if isinstance(outcome, dict) else one_text(outcome)
        if text and text not in facts.learning_outcomes:
            facts.learning_outcomes.append(text)
    for credit in as_list(spec.get("creditPoint")):
        if not isinstance(credit, dict):
            continue
        framework, label = concept(credit.get("framework"))
        points = decimal_or_none(credit.get("point"))
        is_ects = framework == ECTS_FRAMEWORK or "european credit transfer" in (label or "").casefold()
        if points is not None and is_ects and facts.credits is None:
            facts.credits, facts.credit_scheme = points, CreditScheme.ECTS
        elif points is not None:
            facts.spec_details.setdefault("other_credits", []).append(
                {"framework": label or framework, "points": str(points)}
            )
    volume = spec.get("volumeOfLearning")
    hours = duration_hours(volume)
    if hours is not None:
        facts.workload_hours = hours
        if facts.credits is None:
            facts.credits, facts.credit_scheme = hours, CreditScheme.HOURS
        else:
            facts.spec_details["workload_hours"] = str(hours)
    elif isinstance(volume, str):
        facts.workload_other = {"volume_of_learning": volume}
    eqf_id, _ = concept(spec.get("eqfLevel"))
    if eqf_id and eqf_id.startswith(EQF_PREFIX) and (eqf_id[len(EQF_PREFIX) :]).isdigit():
        level = int(eqf_id[len(EQF_PREFIX) :])
        facts.eqf_level = level if is_valid_eqf(level) else None
    nqf_id, nqf_label = concept(spec.get("nqfLevel"))
    if nqf_id or nqf_label:
        facts.nqf_level = nqf_label or nqf_id
        facts.spec_details["nqf_level"] = {"id": nqf_id, "label": nqf_label}
        nkr = _nkr_level(nqf_label)
        if nkr:
            facts.nkr_level = nkr
    for area in as_list(spec.get("ISCEDFCode")) + as_list(spec.get("thematicArea")):
        area_id, _ = concept(area)
        if area_id and area_id.startswith(ISCEDF_PREFIX):
            code = area_id[len(ISCEDF_PREFIX) :]
            if code.isdigit() and code not in facts.iscedf_codes:
                facts.iscedf_codes.append(code)
    mode_label = concept(spec.get("mode"))[1]
    activity = first_dict(claim.get("influencedBy")) or {}
    activity_spec = first_dict(activity.get("specifiedBy")) or {}
    mode_label = mode_label or concept(activity_spec.get("mode"))[1]
    setting = concept(spec.get("learningSetting"))[1]
    if mode_label:
        facts.participation = {"mode": mode_label}
        if setting:
            facts.participation["learning_setting"] = setting
    elif setting:
        facts.spec_details["learning_setting"] = setting
    _assessment(claim, facts)
    accreditations = as_list(spec.get("accreditation")) + as_list(claim.get("accreditation"))
    if accreditations:
        facts.quality_assurance = {"accreditation": [_accreditation(a) for a in accreditations]}
    if spec.get("isPartialQualification") is not None:
        facts.spec_details["partial_qualification"] = bool(spec["isPartialQualification"])
    type_label = concept(spec.get("dcType"))[1]
    if type_label:
        facts.spec_details["type"] = type_label


def _nkr_level(label: str | None) -> str | None:
    if not label:
        return None
    text = label.casefold().replace("nivå", "").replace("level", "").strip()
    if text.startswith(("nkr", "nqf-no", "nqf no")):
        candidate = text.split()[-1]
        return candidate if is_valid_nkr(candidate) else None
    return None


def _assessment(claim: dict[str, Any], facts: CredentialFacts) -> None:
    assessment = first_dict(claim.get("provenBy"))
    if assessment is None:
        return
    spec = first_dict(assessment.get("specifiedBy")) or {}
    found: dict[str, Any] = {}
    for key, value in (
        ("type", concept(spec.get("dcType"))[1]),
        ("mode", concept(spec.get("mode"))[1]),
        ("supervision", concept(assessment.get("idVerification"))[1]),
        ("title", one_text(assessment.get("title")) or one_text(spec.get("title"))),
    ):
        if value:
            found[key] = value
    if found:
        facts.assessment = found
    facts.grade = one_text((first_dict(assessment.get("grade")) or {}).get("noteLiteral")) or (
        assessment["grade"] if isinstance(assessment.get("grade"), str) else None
    )
    scheme = first_dict(spec.get("gradingScheme")) or {}
    facts.grading_scheme = one_text(scheme.get("title"))


def _accreditation(node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {"id": str(node)}
    out: dict[str, Any] = {}
    type_label = concept(node.get("dcType"))[1]
    if type_label:
        out["type"] = type_label
    title = one_text(node.get("title"))
    if title:
        out["title"] = title
    agent = first_dict(node.get("accreditingAgent"))
    if agent:
        out["accrediting_agent"] = one_text(agent.get("legalName"))
    if isinstance(node.get("id"), str):
        out["id"] = node["id"]
    return out


def _achievement(credential: dict[str, Any], claim: dict[str, Any], facts: CredentialFacts) -> None:
    awarded = first_dict(claim.get("awardedBy")) or {}
    for key in ("issued", "issuanceDate"):
        stamp = parse_timestamp(credential.get(key))
        if stamp:
            facts.issued_on, facts.issued_at = register_date(stamp), str(credential[key])
            break
    else:
        # the awarding date, else validFrom: Europass's "uploadable" (unsealed) form has no issue date yet
        for raw in (awarded.get("awardingDate"), credential.get("validFrom")):
            stamp = parse_timestamp(raw)
            if stamp:
                facts.issued_on, facts.issued_at = register_date(stamp), str(raw)
                break
    if isinstance(credential.get("validFrom"), str):
        facts.valid_from = credential["validFrom"]
    until = credential.get("validUntil") or credential.get("expirationDate")
    if isinstance(until, str):
        facts.valid_until, facts.valid_until_at = until, parse_timestamp(until)
    if isinstance(awarded.get("awardingDate"), str):
        facts.achievement_details["awarding_date"] = awarded["awardingDate"]
    status = first_dict(credential.get("credentialStatus"))
    if status:
        facts.credential_status = {k: status[k] for k in ("id", "type", "statusPurpose") if k in status}
    activity = first_dict(claim.get("influencedBy")) or {}
    period = first_dict(activity.get("temporal")) or {}
    if period:
        facts.achievement_details["activity_period"] = {
            k: period[k] for k in ("startDate", "endDate") if isinstance(period.get(k), str)
        }
    ident = first_dict(credential.get("identifier"))
    if ident and isinstance(ident.get("notation"), str):
        facts.achievement_details["certificate_number"] = ident["notation"]
