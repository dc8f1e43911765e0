"""What the register serves: its evidence types, the requirements each satisfies, its distribution.

Requirements are the Evidence Broker's (``…/requirements/<uuid>``); the host differs between the
acceptance (``sr.acc.oots.tech.ec.europa.eu``) and production registries, so a requirement is known by
its UUID. The evidence type classifications are the register's own, registered by the operator in the
Common Services (docs/oots.md); the register recognises its type by the classification's last segment
so the same build answers acceptance and production.
"""

from __future__ import annotations

from dataclasses import dataclass

from register.namespaces import ELMO_NS
from register.sectors import Sector

ELMO_FORMAT = "application/xml"
ELMO_CONFORMS_TO = ELMO_NS  # the ELMO schemas, by the address that names their namespace


@dataclass(frozen=True, slots=True)
class EvidenceType:
    key: str
    classification: str  # the last segment of the EvidenceTypeClassification URI
    requirements: frozenset[str]  # Evidence Broker requirement UUIDs this evidence type satisfies
    sectors: tuple[Sector, ...]  # whose results the ELMO carries
    title_en: str
    title_nb: str
    aliases: frozenset[str] = frozenset()  # classifications of the TDD examples that name this type


EVIDENCE_TYPES: tuple[EvidenceType, ...] = (
    EvidenceType(
        key="higher-education-qualification",
        classification="6f0ad9b4-5c1e-4a57-9c0d-6a1b7e2f4a01",
        requirements=frozenset(
            {
                "5247bb6b-6bec-43fd-9b2e-f99be2dbae39",  # Proof of tertiary education qualification
                "94b2c6f8-332d-4f82-b0d2-93462f08a7a2",  # … qualification level
                "f8a6a284-34e9-42c7-9733-63b5c4f4aa42",  # … diploma/certificate/degree (EDM 2.0 example)
            }
        ),
        sectors=(Sector.HIGHER,),
        title_en="Proof of higher education qualification (ELMO)",
        title_nb="Dokumentasjon av høyere utdanning (ELMO)",
    ),
    EvidenceType(
        key="higher-education-transcript",
        classification="6f0ad9b4-5c1e-4a57-9c0d-6a1b7e2f4a02",
        requirements=frozenset({"f56ad8cf-268a-4542-8193-216dcecd5676"}),  # tertiary education transcript
        sectors=(Sector.HIGHER,),
        title_en="Transcript of records, higher education (ELMO)",
        title_nb="Karakterutskrift, høyere utdanning (ELMO)",
    ),
    EvidenceType(
        key="secondary-education-qualification",
        classification="6f0ad9b4-5c1e-4a57-9c0d-6a1b7e2f4a03",
        requirements=frozenset(
            {
                "8c72f89b-86bc-4960-b684-80a2c5dda00b",  # Proof of secondary education qualification
                "e92ea11d-2fdc-40b4-804d-e3d92d6ae2f8",  # … secondary education transcript
                "315cfd75-6605-49c4-b0fe-799833b41099",  # Secondary Education Completion (TDD 2022-Q4 example)
            }
        ),
        sectors=(Sector.PRIMARY,),
        title_en="Upper secondary diploma (vitnemål) and certificates (ELMO)",
        title_nb="Vitnemål og kompetansebevis fra videregående opplæring (ELMO)",
        aliases=frozenset({"SecondaryEducationCompletion"}),  # the TDD 2022-Q4 example
    ),
    EvidenceType(
        key="vocational-education-qualification",
        classification="6f0ad9b4-5c1e-4a57-9c0d-6a1b7e2f4a04",
        requirements=frozenset(
            {"dc4dbfb4-d1d8-429c-8379-458ace858947"}
        ),  # vocational education qualification
        sectors=(Sector.VOCATIONAL,),
        title_en="Proof of higher vocational education (fagskole) qualification (ELMO)",
        title_nb="Dokumentasjon av fagskoleutdanning (ELMO)",
    ),
)

CLASSIFICATION_BASE = "https://sr.oots.tech.ec.europa.eu/evidencetypeclassifications/NO/"


def last_segment(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1].strip()


def evidence_type_by_classification(uri: str) -> EvidenceType | None:
    segment = last_segment(uri)
    for evidence_type in EVIDENCE_TYPES:
        if segment == evidence_type.classification or segment in evidence_type.aliases:
            return evidence_type
    return None


def evidence_type_by_key(key: str) -> EvidenceType:
    return next(t for t in EVIDENCE_TYPES if t.key == key)
