"""Demo micro-credentials: two synthetic course providers issue ELM and Open Badges 3.0 credentials.

- *Kursakademiet AS* issues Europass (ELM v3) credentials that carry its organisasjonsnummer and the
  learner's national id, delivered as one JSON array; and Open Badges 3.0 badges from its issuer URL
  (registered in the cross-walk as ``issuer=…``), delivered as JSON Lines in the register's envelope
  because badges name learners by e-mail, not national id.
- *Digitalt læringssenter AS* issues Open Badges 3.0 as VC-JWTs signed with Ed25519 under its own
  ``did:jwk`` issuer id, so the register verifies them with no configuration.

The builders are also what the tests use to make credentials with every mandatory element present.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from demo.load import SHOWCASE, DemoDelivery, DemoOrganisation, DemoSet, DemoSize
from register.synthetic import SyntheticPerson, synthetic_orgnr, synthetic_person

ECTS = "http://data.europa.eu/snb/education-credit/6fcec5c5af"
COUNTRY = "http://publications.europa.eu/resource/authority/country/"

COURSES = (
    # title (nb), outcomes, ECTS, hours, EQF, ISCED-F, assessment, participation
    ("Grunnleggende maskinlæring", ("Forklare overvåket læring", "Trene og evaluere en modell"), "5", 135, 6,
     "0613", "skriftlig eksamen", "nettbasert"),
    ("Universell utforming av nettsider", ("Anvende WCAG 2.1", "Teste med skjermleser"), "2.5", 70, 5,
     "0612", "praktisk prosjektoppgave", "samlingsbasert"),
    ("Klimaregnskap for små bedrifter", ("Sette opp et klimaregnskap etter GHG-protokollen",), "3", 80, 6,
     "0413", "muntlig eksamen", "stedlig"),
    ("Sikker drift av skytjenester", ("Herde en virtuell maskin", "Overvåke hendelser"), "4", 110, 5,
     "0612", "praktisk prøve", "nettbasert"),
)  # fmt: skip


def _concept(iri: str, label: str) -> dict[str, Any]:
    return {"id": iri, "type": "Concept", "prefLabel": {"nb": label}}


def elm_credential(
    *,
    credential_id: str,
    learner: SyntheticPerson | None,
    issuer_orgnr: str,
    issuer_name: str,
    title: str,
    outcomes: tuple[str, ...],
    ects: str,
    hours: int,
    eqf: int,
    iscedf: str,
    assessment: str,
    participation: str,
    issued: dt.datetime,
    grade: str = "Bestått",
) -> dict[str, Any]:
    """An unsigned ELM v3 ``EuropeanDigitalCredential`` carrying all eleven mandatory elements."""
    org = {
        "id": f"urn:epass:org:{issuer_orgnr}",
        "type": "Organisation",
        "legalName": {"nb": issuer_name},
        "registration": {
            "id": f"urn:epass:legalIdentifier:{issuer_orgnr}",
            "type": "LegalIdentifier",
            "notation": issuer_orgnr,
            "spatial": _concept(COUNTRY + "NOR", "Norge"),
        },
        "location": {
            "id": "urn:epass:location:1",
            "type": "Location",
            "address": {
                "id": "urn:epass:address:1",
                "type": "Address",
                "countryCode": _concept(COUNTRY + "NOR", "Norge"),
            },
        },
    }
    subject: dict[str, Any] = {"id": "urn:epass:person:1", "type": "Person"}
    if learner is not None:
        subject |= {
            "givenName": {"nb": learner.given_name},
            "familyName": {"nb": learner.family_name},
            "nationalID": {
                "id": "urn:epass:legalIdentifier:person",
                "type": "LegalIdentifier",
                "notation": learner.nin,
                "spatial": _concept(COUNTRY + "NOR", "Norge"),
            },
        }
    subject["hasClaim"] = {
        "id": "urn:epass:learningAchievement:1",
        "type": "LearningAchievement",
        "title": {"nb": title},
        "awardedBy": {"id": "urn:epass:awardingProcess:1", "type": "AwardingProcess", "awardingBody": org},
        "provenBy": {
            "id": "urn:epass:learningAssessment:1",
            "type": "LearningAssessment",
            "title": {"nb": "Vurdering"},
            "grade": {"id": "urn:epass:note:1", "type": "Note", "noteLiteral": {"nb": grade}},
            "specifiedBy": {
                "id": "urn:epass:learningAssessmentSpec:1",
                "type": "LearningAssessmentSpecification",
                "title": {"nb": "Vurdering"},
                "dcType": _concept("urn:epass:concept:assessment", assessment),
                "gradingScheme": {
                    "id": "urn:epass:gradingScheme:1",
                    "type": "GradingScheme",
                    "title": {"nb": "Bestått/ikke bestått"},
                },
            },
        },
        "specifiedBy": {
            "id": "urn:epass:learningAchievementSpec:1",
            "type": "Qualification",
            "title": {"nb": title},
            "description": {"nb": f"Mikrokurs fra {issuer_name}: {title.lower()}."},
            "learningOutcome": [
                {"id": f"urn:epass:learningOutcome:{i}", "type": "LearningOutcome", "title": {"nb": text}}
                for i, text in enumerate(outcomes, 1)
            ],
            "creditPoint": {
                "id": "urn:epass:creditPoint:1",
                "type": "CreditPoint",
                "framework": _concept(ECTS, "European Credit Transfer System"),
                "point": ects,
            },
            "volumeOfLearning": f"PT{hours}H",
            "eqfLevel": _concept(f"http://data.europa.eu/snb/eqf/{eqf}", f"Nivå {eqf}"),
            "ISCEDFCode": _concept(f"http://data.europa.eu/snb/isced-f/{iscedf}", iscedf),
            "mode": _concept("urn:epass:concept:mode", participation),
            "accreditation": {
                "id": "urn:epass:accreditation:1",
                "type": "Accreditation",
                "title": {"nb": "Godkjent etter forskrift om kvalitetssikring av kurs"},
                "dcType": _concept("urn:epass:concept:qa", "intern kvalitetssikring"),
            },
        },
    }
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "http://data.europa.eu/snb/model/context/edc-ap",
        ],
        "id": credential_id,
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "issuer": org,
        "issued": issued.isoformat(),
        "validFrom": issued.isoformat(),
        "credentialSubject": subject,
    }


def open_badge(
    *,
    credential_id: str,
    issuer_id: str,
    issuer_name: str,
    title: str,
    outcomes: tuple[str, ...],
    eqf: int,
    issued: dt.datetime,
    learner_nin: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    """An Open Badges 3.0 ``OpenBadgeCredential`` with what OB can carry of the mandatory elements."""
    identifiers = []
    if learner_nin:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityType": "nationalIdentityNumber",
                "hashed": False,
                "identityHash": learner_nin,
            }
        )
    if email:
        identifiers.append(
            {"type": "IdentityObject", "identityType": "emailAddress", "hashed": False, "identityHash": email}
        )
    alignments: list[dict[str, Any]] = [
        {"type": ["Alignment"], "targetName": text, "targetType": "Competency"} for text in outcomes
    ]
    alignments.append(
        {
            "type": ["Alignment"],
            "targetName": f"EQF {eqf}",
            "targetUrl": f"http://data.europa.eu/snb/eqf/{eqf}",
            "targetFramework": "EQF",
        }
    )
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": issuer_name, "address": {"type": ["Address"], "addressCountryCode": "NO"}},
        "validFrom": issued.isoformat(),
        "name": title,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            **({"identifier": identifiers} if identifiers else {}),
            "achievement": {
                "id": f"{issuer_id.rstrip('/')}/achievements/{_slug(title)}" if issuer_id.startswith("http") else f"urn:achievement:{_slug(title)}",
                "type": ["Achievement"],
                "name": title,
                "inLanguage": "nb",
                "description": f"Digitalt kompetansemerke: {title.lower()}.",
                "criteria": {"narrative": "Fullført alle moduler og bestått sluttoppgaven."},
                "alignment": alignments,
                "creditsAvailable": 1,
                "resultDescription": [
                    {"id": "urn:uuid:00000000-0000-4000-8000-000000000001", "type": ["ResultDescription"], "name": "Sluttoppgave", "resultType": "Status"}
                ],
            },
        },
    }  # fmt: skip


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def did_jwk_for(private_key: Ed25519PrivateKey) -> str:
    """The ``did:jwk`` of an Ed25519 key: the public JWK itself, base64url-encoded."""
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64url(public)}
    return "did:jwk:" + b64url(json.dumps(jwk, separators=(",", ":")).encode())


def sign_vc_jwt(
    credential: dict[str, Any], private_key: Any, *, algorithm: str, kid: str | None = None
) -> str:
    """A VC-JWT (VC Data Model 1.1 encoding: the credential in the ``vc`` claim)."""
    issuer = credential["issuer"]["id"] if isinstance(credential["issuer"], dict) else credential["issuer"]
    valid_from = dt.datetime.fromisoformat(credential["validFrom"])
    claims = {"vc": credential, "iss": issuer, "jti": credential["id"], "nbf": int(valid_from.timestamp())}
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, private_key, algorithm=algorithm, headers=headers)


def demo_set(rng: random.Random, size: DemoSize = SHOWCASE) -> DemoSet:
    academy = synthetic_orgnr(rng)
    centre = synthetic_orgnr(rng)
    academy_issuer = "https://kursakademiet.example/issuer"
    key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    centre_did = did_jwk_for(key)
    learners = [synthetic_person(rng) for _ in range(6)]

    def issued() -> dt.datetime:
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        return dt.datetime.combine(day, dt.time(12, 0), dt.UTC)

    elm = [
        _academy_credential(_uuid(rng), learner, academy, course, issued())
        for learner, course in zip(learners[:4], COURSES, strict=True)
    ]
    badges = [
        {
            "learner": {"nin": learner.nin},
            "credential": open_badge(
                credential_id=f"urn:uuid:{_uuid(rng)}",
                issuer_id=academy_issuer,
                issuer_name="Kursakademiet AS",
                title="Digital samhandling",
                outcomes=("Lede et nettmøte", "Dele dokumenter sikkert"),
                eqf=4,
                issued=issued(),
                email=f"{learner.given_name.lower()}@example.org",
            ),
        }
        for learner in learners[3:5]
    ]
    signed = [
        sign_vc_jwt(
            open_badge(
                credential_id=f"urn:uuid:{_uuid(rng)}",
                issuer_id=centre_did,
                issuer_name="Digitalt læringssenter AS",
                title=title,
                outcomes=outcomes,
                eqf=5,
                issued=issued(),
                learner_nin=learner.nin,
            ),
            key,
            algorithm="EdDSA",
            kid=f"{centre_did}#0",
        )
        for learner, (title, outcomes) in zip(
            (learners[0], learners[5]),
            (
                ("Personvern i praksis", ("Gjennomføre en DPIA",)),
                ("Prosjektledelse med Scrum", ("Lede en sprint",)),
            ),
            strict=True,
        )
    ]
    return DemoSet(
        organisations=[
            DemoOrganisation(
                academy, "Kursakademiet AS", "course_provider", codes={"issuer": academy_issuer}, county="03"
            ),
            DemoOrganisation(
                centre,
                "Digitalt læringssenter AS",
                "course_provider",
                codes={"issuer": centre_did},
                county="50",
            ),
        ],
        deliveries=[
            DemoDelivery("micro", academy, "kursakademiet-europass.json", _json(elm), "application/json"),
            *_yearly(rng, academy, size),
            DemoDelivery(
                "micro",
                academy,
                "kursakademiet-badges.jsonl",
                b"".join(_json(b) + b"\n" for b in badges),
                "application/jsonl",
            ),
            DemoDelivery(
                "micro", centre, "laeringssenter-badges.jwt", "\n".join(signed).encode() + b"\n", None
            ),
        ],
    )


def _academy_credential(
    uuid: str, learner: SyntheticPerson, academy: str, course: tuple[Any, ...], issued: dt.datetime
) -> dict[str, Any]:
    """One of Kursakademiet's Europass credentials for a course of COURSES."""
    title, outcomes, ects, hours, eqf, iscedf, assessment, participation = course
    return elm_credential(
        credential_id=f"urn:credential:{uuid}",
        learner=learner,
        issuer_orgnr=academy,
        issuer_name="Kursakademiet AS",
        title=title,
        outcomes=outcomes,
        ects=ects,
        hours=hours,
        eqf=eqf,
        iscedf=iscedf,
        assessment=assessment,
        participation=participation,
        issued=issued,
    )


def _yearly(rng: random.Random, academy: str, size: DemoSize) -> list[DemoDelivery]:
    """The analysts' years: the academy's Europass credentials from 2020, growing by a tenth a year.

    Without them the few showcase credentials make micro a suppressed cell in every year, and the
    secondary suppression then hides another sector's figure of the same year with it.
    """
    if size.until is None:
        return []
    deliveries = []
    for year in (y for y in size.years if 2020 <= y <= size.until):
        credentials = []
        for n in range(size.people(10, year, growth=0.1)):
            course = COURSES[n % len(COURSES)]
            day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(0, 360))
            credentials.append(
                _academy_credential(
                    _uuid(rng),
                    synthetic_person(rng, rng.randint(1960, 2000)),
                    academy,
                    course,
                    dt.datetime.combine(day, dt.time(12, 0), dt.UTC),
                )
            )
        deliveries.append(
            DemoDelivery(
                "micro", academy, f"kursakademiet-{year}.json", _json(credentials), "application/json"
            )
        )
    return deliveries


def _slug(title: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a"})
    return "-".join(
        "".join(c for c in word if c.isalnum()) for word in title.lower().translate(table).split()
    )


def _uuid(rng: random.Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-8{value[17:20]}-{value[20:]}"


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
