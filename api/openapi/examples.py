"""Examples for the OpenAPI document, taken from the demo register (``make run``): its organisations
(Fjordvik fagskole, 965897976) and its synthetic people. A test validates each against its schema.
"""

from __future__ import annotations

from typing import Any

from register.namespaces import ELMO_NS

#: a synthetic fødselsnummer of the demo (month + 80, valid check digits); only ever in a body
NIN = "17828225464"
ORGNR = "965897976"  # Fjordvik fagskole, a demo organisation
BATCH_ID = "531aee56-23d3-4d1a-84e3-6a51052ddb97"
ACHIEVEMENT_ID = "01a246e0-d57d-77ea-a6c2-1f0cb30abe27"
PERSON_ID = "2a6fa112-f18c-4111-8827-6183cc629846"

_FJORDVIK = {
    "orgnr": ORGNR,
    "name": "Fjordvik fagskole",
    "name_en": "Fjordvik Vocational College",
    "kind": "fagskole",
    "country": "NO",
}

LOOKUP_IN = {"nin": NIN, "passed_only": True, "sectors": ["vocational", "higher"]}
NIN_IN = {"nin": NIN}

PERSON: dict[str, Any] = {
    "id": PERSON_ID,
    "given_name": "Iver",
    "family_name": "Johnsen",
    "birth_date": None,
    "achievements": [
        {
            "id": ACHIEVEMENT_ID,
            "sector": "vocational",
            "kind": "course_result",
            "specification": {
                "kind": "course",
                "code": "EL-101",
                "code_scheme": "fagskole-emne",
                "title": {"nb": "Realfag"},
                "description": None,
                "credits": 10.0,
                "credit_scheme": "fagskolepoeng",
                "nkr_level": "5.1",
                "eqf_level": 5,
                "nus_code": None,
                "iscedf_code": None,
                "learning_outcomes": None,
            },
            "awarding_organisation": _FJORDVIK,
            "grade": {"scheme": "a-f", "value": "B", "as_delivered": "B", "passed": True},
            "credits": 10.0,
            "credit_scheme": "fagskolepoeng",
            "completed_on": "2023-12-12",
            "year": 2023,
            "term": "2023H",
            "version": 1,
            "parts": [],
        }
    ],
}

ELMO = f"""<?xml version='1.0' encoding='UTF-8'?>
<elmo xmlns="{ELMO_NS}">
  <generatedDate>2026-12-05T15:45:00+00:00</generatedDate>
  <learner>
    <identifier type="nationalIdentifier">…</identifier>
    <givenNames>Iver</givenNames>
    <familyName>Johnsen</familyName>
  </learner>
  <report>
    <issuer>…Fjordvik fagskole…</issuer>
    <learningOpportunitySpecification>…EL-101 Realfag, 10 fagskolepoeng, grade B…</learningOpportunitySpecification>
  </report>
</elmo>
"""

_REPORT_BASE: dict[str, Any] = {
    "batch_id": BATCH_ID,
    "status": "completed",
    "sector": "vocational",
    "format": "vocational-csv",
    "duplicate_of": None,
    "failure": None,
    "warnings": [],
    "details": {},
}
BATCH_REPORTS = {
    "all accepted": {
        **_REPORT_BASE,
        "accepted": 3,
        "new": 3,
        "changed": 0,
        "unchanged": 0,
        "rejected": 0,
        "errors": [],
    },
    "a row rejected": {
        **_REPORT_BASE,
        "accepted": 2,
        "new": 2,
        "changed": 0,
        "unchanged": 0,
        "rejected": 1,
        "errors": [
            {
                "record": "row 3",
                "path": "utdanning_kode",
                "code": "field.missing",
                "message": "utdanning_kode is required but empty",
            }
        ],
    },
}
DRY_RUN_REPORT = {
    **BATCH_REPORTS["a row rejected"],
    "batch_id": None,
    "new": 1,
    "changed": 1,
    "dry_run": True,
}
BATCH_ACCEPTED = {"batch_id": BATCH_ID, "status": "received", "location": f"/v1/batches/{BATCH_ID}"}

BATCH: dict[str, Any] = {
    "id": BATCH_ID,
    "provider": ORGNR,
    "sector": "vocational",
    "format": "vocational-csv",
    "filename": "vitnemal.csv",
    "content_type": "text/csv",
    "sha256": "605868f1c46263523639c01e8c103b2e7fc048aad96041289dd57c820ce08542",
    "size_bytes": 21926,
    "status": "completed",
    "submitted_by": "dev-965897976",
    "duplicate_of": None,
    "accepted": 2,
    "unchanged": 0,
    "rejected": 1,
    "warnings": [],
    "details": {},
    "failure": None,
    "received_at": "2026-12-05T15:44:32.607729Z",
    "finished_at": "2026-12-05T15:44:32.618232Z",
    "records_done": 3,
}
_REJECTION = {
    "seq": 1,
    "record": "row 3",
    "path": "utdanning_kode",
    "code": "field.missing",
    "message": "utdanning_kode is required but empty",
}
BATCH_DETAIL = {**BATCH, "rejections": [_REJECTION], "rejections_next": None}
BATCH_PAGE = {"items": [BATCH], "next_cursor": None}
REJECTION_PAGE = {"items": [_REJECTION], "next_after": None}

RECORD_PAGE = {
    "items": [
        {
            "record": "row 1",
            "source_key": "vocational/vitnemal/FS-VM-2025-0042",
            "achievement_id": ACHIEVEMENT_ID,
            "outcome": "new",
            "code": None,
        },
        {
            "record": "row 7",
            "source_key": None,
            "achievement_id": None,
            "outcome": "rejected",
            "code": "grade.invalid",
        },
    ],
    "next_cursor": None,
}

WITHDRAWAL_IN = {"reason": "registered on the wrong person"}
WITHDRAWAL = {
    "id": ACHIEVEMENT_ID,
    "status": "withdrawn",
    "version": 2,
    "withdrawal_reason": "registered on the wrong person",
}

_VERSION = {
    "version": 1,
    "current": False,
    "status": "valid",
    "withdrawal_reason": None,
    "grade": {"scheme": "a-f", "value": "C", "as_delivered": "C", "passed": True},
    "credits": 10.0,
    "credit_scheme": "fagskolepoeng",
    "completed_on": "2025-06-13",
    "year": 2025,
    "term": "2025V",
    "specification": {"id": 41, "code": "EL-101", "title": {"nb": "Elektriske anlegg"}},
    "delivered_by": {"orgnr": ORGNR, "name": "Fjordvik fagskole"},
    "batch_id": BATCH_ID,
    "delivered_at": "2025-06-20T08:14:03Z",
}
VERSIONS = {
    "achievement_id": ACHIEVEMENT_ID,
    "versions": [
        _VERSION,
        {
            **_VERSION,
            "version": 2,
            "current": True,
            "grade": {"scheme": "a-f", "value": "B", "as_delivered": "B", "passed": True},
            "delivered_at": "2025-08-29T10:02:11Z",
        },
    ],
}

STATS_DIMENSION = {
    "id": "county",
    "label": {"nb": "Fylke", "en": "County"},
    "role": "geo",
    "kept": False,
    "closed": True,
    "note": "the county of the awarding organisation (SSB's county codes of 2024)",
    "codes": [
        {"code": "03", "label": {"nb": "Oslo", "en": "Oslo"}},
        {"code": "46", "label": {"nb": "Vestland", "en": "Vestland"}},
    ],
}

STATS = {
    "group_by": ["sector"],
    "filters": {},
    "threshold": 5,
    "disclosure_control": (
        "Published figures are perturbed by the cell-key method: persons and achievements by an integer "
        "within ±4, credits by up to ±max(10 %, 10) …"
    ),
    "cells": [
        {
            "sector": "vocational",
            "achievements": 279,
            "persons": 56,
            "credits": {"fagskolepoeng": 3507.5},
            "suppressed": False,
            "perturbed": True,
        },
        {
            "sector": "micro",
            "achievements": None,
            "persons": None,
            "credits": None,
            "suppressed": True,
            "perturbed": False,
        },
    ],
}

ORGANISATION = {**_FJORDVIK, "codes": {}, "delivers_for": []}
UNIVERSITY: dict[str, Any] = {
    "orgnr": "963218117",
    "name": "Universitetet i Nordvik (demo)",
    "name_en": None,
    "kind": "university",
    "country": "NO",
    "codes": {"fs": ["9101"], "erasmus": ["N NORDVIK01"], "schac": ["nordvik.demo.no"]},
    "delivers_for": [],
}
ORGANISATION_IN = {
    "orgnr": "963218117",
    "name": "Universitetet i Nordvik (demo)",
    "kind": "university",
    "codes": [{"scheme": "fs", "value": "9101"}, {"scheme": "erasmus", "value": "N NORDVIK01"}],
}
CODE_IN = {"scheme": "schac", "value": "nordvik.demo.no"}
DELIVERS_FOR_IN = {"orgnr": "931946773"}
COUNTY: dict[str, Any] = {
    "orgnr": "957002013",
    "name": "Vestfjord fylkeskommune",
    "name_en": None,
    "kind": "county",
    "country": "NO",
    "codes": {},
    "delivers_for": ["931946773", "952906895", "965835652"],
}

AUDIT_PAGE = {
    "items": [
        {
            "id": 1,
            "occurred_at": "2026-12-05T15:44:57.696594Z",
            "request_id": "065f8ade-dfbd-4462-9f1d-8c0c35120d3c",
            "client_id": "dev-965897976",
            "organisation": ORGNR,
            "scope": "kompetanse:read",
            "person_id": PERSON_ID,
            "action": "persons.lookup",
            "details": {
                "count": 1,
                "filters": {"sectors": None, "passed_only": False},
                "endpoint": "POST /v1/persons/lookup",
                "achievement_ids": [ACHIEVEMENT_ID],
            },
        }
    ],
    "next_before_id": None,
}
PERSON_ACCESSES = [
    {
        "occurred_at": "2026-12-05T15:44:57.696594Z",
        "organisation": ORGNR,
        "organisation_name": "Fjordvik fagskole",
        "client_id": "dev-965897976",
        "action": "persons.lookup",
        "scope": "kompetanse:read",
    }
]

HEALTH = {"status": "ok"}

_CSV = (
    "fodselsnummer;fornavn;etternavn;fagskole_orgnr;utdanning_kode;utdanning_navn;nkr_niva;"
    "utdanning_fagskolepoeng;emnekode;emnenavn;fagskolepoeng;karakter;fullfort_dato;semester;resultat_id;"
    "vitnemal_id;vitnemal_dato\n"
    "24890654459;Emil;Berg;965897976;ELKRAFT;Elkraft;5.1;120;EL-101;Elektrotekniske fag;10;B;2023-12-15;"
    "2023H;;FS-VM-2025-0042;2025-06-16\n"
)
_JSON_ROW = (
    '{"fodselsnummer": "24890654459", "fagskole_orgnr": "965897976", "utdanning_kode": "ELKRAFT", '
    '"utdanning_navn": "Elkraft", "nkr_niva": "5.1", "emnekode": "EL-101", "emnenavn": "Elektrotekniske fag", '
    '"fagskolepoeng": 10, "karakter": "B", "fullfort_dato": "2023-12-15", "semester": "2023H", '
    '"resultat_id": "R-2023-0001"}'
)
_ELMO_IN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<elmo xmlns="{ELMO_NS}">\n'
    '  <learner>…</learner>\n  <report><issuer><identifier type="schac">nordvik.demo.no</identifier>…</issuer>'
    "<learningOpportunitySpecification>…</learningOpportunitySpecification></report>\n</elmo>\n"
)
_OB3 = '{"@context": ["https://www.w3.org/ns/credentials/v2", …], "type": ["VerifiableCredential", "OpenBadgeCredential"], …}'
_VC_JWT = "eyJhbGciOiJFZERTQSIsInR5cCI6InZjK2p3dCJ9.eyJAY29udGV4dCI6Wy4uLl19.c2lnbmF0dXJl"

#: the delivery's media types: the format is recognised from the bytes; the type only decides between
#: a body and a form, and marks a VC-JWT or a signed JSON-LD credential (importers/micro/importer.py)
UPLOAD_TYPES: dict[str, tuple[str, str]] = {
    "text/csv": ("primary and vocational CSV (`;`-separated, UTF-8)", _CSV),
    "application/json": (
        "primary and vocational JSON (an array of rows); Europass ELM; Open Badges 3.0",
        f"[{_JSON_ROW}]",
    ),
    "application/x-ndjson": ("JSON Lines: one row, or one credential envelope, per line", _JSON_ROW + "\n"),
    "application/jsonl": ("JSON Lines (the same)", _JSON_ROW + "\n"),
    "application/ld+json": (
        "Europass ELM v3 JSON-LD",
        '{"@context": ["http://data.europa.eu/snb/model/context/edc-ap"], …}',
    ),
    "application/vc+ld+json": ("a verifiable credential with embedded proof (Open Badges 3.0, ELM)", _OB3),
    "application/vc": ("the same (the media type of VC Data Model 2.0)", _OB3),
    "application/vc+jwt": ("Open Badges 3.0 as VC-JWT, one compact JWS per line", _VC_JWT),
    "application/xml": ("ELMO 1.x or 2.0 (EMREX); also gzip+base64 wrapped", _ELMO_IN),
    "text/xml": ("ELMO (the same)", _ELMO_IN),
    "text/plain": ("any of the above where the client cannot say which", _CSV),
    "application/octet-stream": ("any of the above where the client cannot say which", _CSV),
}

UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "description": (
        "The delivery file as the body, or a `multipart/form-data` form with the file in `file`. The format "
        "is recognised from the file itself (docs/formats/); the media type below is for the client's "
        "convenience, except `application/vc+jwt`, `application/vc+ld+json` and `application/vc`, which "
        "mark a micro-credential."
    ),
    "content": {
        **{
            media_type: {
                "schema": {"type": "string", "format": "binary", "description": what},
                "example": example,
            }
            for media_type, (what, example) in UPLOAD_TYPES.items()
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            },
            "example": {"file": "vitnemal.csv"},
        },
    },
}
