"""The two credential types the register issues, as SD-JWT VCs (``dc+sd-jwt``), and their configurations.

- ``urn:eu.europa.ec.eudi:learning:credential:1``: one achievement, the claims of the EU reference
  issuer's published configuration (tests/fixtures/formats/eudi/learning_credential_jwt_vc.json), each
  selectively disclosable exactly where its Type Metadata says ``sd: always``.
- ``urn:eudi:elm:1`` (DC4EU): the chosen achievements as one European Learning Model document in the
  claim ``elm``; the three paths DC4EU's Type Metadata marks ``sd: always`` (given name, family name,
  the awarding body's name) are selectively disclosable.

The SD-JWT itself (salts, disclosures, ``_sd`` digests, ``cnf``) is made by the ``sd-jwt`` reference
implementation; this module only decides the claims and which of them may be withheld.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from register.queries import AchievementView, PersonView
from register.wallet.keys import ALGORITHM, IssuerKeys

LEARNING_VCT = "urn:eu.europa.ec.eudi:learning:credential:1"
ELM_VCT = "urn:eudi:elm:1"
LEARNING = "eu.europa.ec.eudi.learning_credential_vc_sd_jwt"  # the reference issuer's configuration id
ELM = "eu.dc4eu.elm_sd_jwt"
CONFIGURATIONS = {LEARNING: LEARNING_VCT, ELM: ELM_VCT}
TYP = "dc+sd-jwt"
ISSUING_AUTHORITY = "Kompetanseregisteret"
ISSUING_COUNTRY = "NO"
# The register does not hold the language of instruction; ISO 639-2 "und" (undetermined) says so
# rather than guessing, in a claim the configuration makes mandatory.
LANGUAGE_UNKNOWN = "und"


def _title(texts: dict[str, str] | None) -> str | None:
    if not texts:
        return None
    return texts.get("nb") or texts.get("nn") or texts.get("en") or next(iter(texts.values()))


def _study_time(achievement: AchievementView) -> str:
    credits = achievement.credits or achievement.specification.credits
    scheme = achievement.credit_scheme or achievement.specification.credit_scheme
    if credits is None or scheme is None:
        return "not stated"
    return f"{credits.normalize():f} {scheme}"


def learning_claims(
    person: PersonView, achievement: AchievementView, nin: str, *, issued: dt.date, expires: dt.date
) -> dict[Any, Any]:
    """The learning credential's own claims; keys wrapped in SDObj are selectively disclosable."""
    spec = achievement.specification
    claims: dict[Any, Any] = {
        "issuing_authority": ISSUING_AUTHORITY,
        "issuing_country": ISSUING_COUNTRY,
        "date_of_issuance": issued.isoformat(),
        "date_of_expiry": expires.isoformat(),
        SDObj("family_name"): person.family_name or "",
        "achievement_title": _title(spec.title) or spec.code or "",
        "language_of_classes": [LANGUAGE_UNKNOWN],
        # The holder's national id, so that a verifier can match the credential with the person's PID;
        # withheld unless the holder discloses it (Type Metadata: sd always).
        SDObj("learner_identification"): nin,
        SDObj("expected_study_time"): _study_time(achievement),
        SDObj("types_of_quality_assurance"): [
            f"Authentic source: {ISSUING_AUTHORITY}, the national register of education results; "
            f"awarded by {achievement.awarding_organisation.name}"
        ],
    }
    if person.given_name:
        claims[SDObj("given_name")] = person.given_name
    description = _title(spec.description)
    if description:
        claims["achievement_description"] = description
    if spec.learning_outcomes:
        claims[SDObj("learning_outcomes")] = list(spec.learning_outcomes)
    if achievement.grade is not None:
        claims[SDObj("assessment_grade")] = achievement.grade.as_delivered
    if spec.eqf_level is not None:  # uint in the configuration: left out when the register has none
        claims[SDObj("level_of_learning_experience")] = spec.eqf_level
    return claims


def elm_claims(
    person: PersonView, achievements: Sequence[AchievementView], *, issued: dt.date
) -> dict[Any, Any]:
    """The ELM document (European Learning Model 3, JSON-LD shape) under ``elm``."""

    def claim(a: AchievementView) -> dict[Any, Any]:
        org = a.awarding_organisation
        legal_name: dict[Any, Any] = {"no": org.name}
        legal_name[SDObj("en")] = org.name_en or org.name
        node: dict[Any, Any] = {
            "id": f"urn:uuid:{a.id}",
            "type": "LearningAchievement",
            "title": dict(a.specification.title),
            "awardedBy": {
                "type": "AwardingProcess",
                "awardingBody": {"type": "Organisation", "legalName": legal_name},
            },
        }
        if a.completed_on is not None:
            node["awardedBy"]["awardingDate"] = a.completed_on.isoformat()
        if a.grade is not None:
            node["wasDerivedFrom"] = {
                "type": "LearningAssessment",
                "grade": {"noteLiteral": a.grade.as_delivered},
            }
        return node

    subject: dict[Any, Any] = {
        "type": "Person",
        "givenName": {SDObj("und"): person.given_name or ""},
        "familyName": {SDObj("und"): person.family_name or ""},
        "hasClaim": [claim(a) for a in achievements],
    }
    return {
        "elm": {
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "http://data.europa.eu/snb/model/context/edc-ap",
            ],
            "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
            "issuer": {"type": "Organisation", "legalName": {"en": ISSUING_AUTHORITY}},
            "validFrom": issued.isoformat(),
            "credentialSubject": subject,
        }
    }


def sign(
    claims: dict[Any, Any],
    *,
    vct: str,
    keys: IssuerKeys,
    issuer: str,
    holder_jwk: dict[str, Any],
    status_uri: str,
    status_index: int,
    issued_at: dt.datetime,
    expires_at: dt.datetime,
) -> str:
    """The SD-JWT VC: the registered claims SD-JWT VC requires (never disclosable), then ``claims``.

    ``cnf`` holds the holder's key from the key proof (the reference implementation writes it).
    """
    payload: dict[Any, Any] = {
        "iss": issuer,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "vct": vct,
        "jti": f"urn:uuid:{uuid.uuid4()}",
        "status": {"status_list": {"idx": status_index, "uri": status_uri}},
        **claims,
    }
    issuer_jwk = JWK.from_pyca(keys.key)
    holder = JWK(**holder_jwk)
    made = SDJWTIssuer(
        payload,
        issuer_jwk,
        holder_key=holder,
        sign_alg=ALGORITHM,
        extra_header_parameters=keys.headers(TYP),
    )
    return str(made.sd_jwt_issuance)
