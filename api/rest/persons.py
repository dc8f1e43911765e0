"""Look-ups of one person (Vitnemålsportalen and other entitled services): JSON and ELMO.

The national id comes in the body only. Authorisation is checked before the number is even parsed,
so a caller without ``kompetanse:read`` learns nothing about whether a person exists. Every answer
with person data writes its audit row in the same transaction as the read, before the response.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ConfigDict, Field

from api.auth import READ, Principal, require_scope
from api.errors import problem_responses
from api.rest.common import audit_identity, engine_of, settings_of
from api.rest.schemas import NinBody, PersonOut
from register import audit
from register.errors import NotFound
from register.grading import Sector
from register.persons import person_id_by_nin
from register.queries import person_view, valid_achievement_ids

router = APIRouter(prefix="/v1", tags=["persons"])

_PROBLEMS = problem_responses(401, 403, 404, 413, 422, 503)


class LookupIn(NinBody):
    model_config = ConfigDict(extra="forbid")
    sectors: list[Sector] | None = Field(default=None, max_length=4, description="only these sectors")
    passed_only: bool = Field(default=False, description="leave out results that were not passed")


@router.post(
    "/persons/lookup",
    response_model=PersonOut,
    summary="A person and all their valid achievements, nested",
    responses=_PROBLEMS,
)
def lookup(
    body: LookupIn, request: Request, principal: Principal = Depends(require_scope(READ))
) -> PersonOut:
    settings = settings_of(request)
    sectors = [s.value for s in body.sectors] if body.sectors else None
    with engine_of(request).begin() as conn:
        person_id = person_id_by_nin(conn, body.nin, allow_synthetic=settings.synthetic_ids_allowed)
        view = person_view(conn, person_id, sectors=sectors, passed_only=body.passed_only)
        if view is None:  # the identifier row outlived its person: treat as unknown
            raise NotFound("person.not_found", "no person in the register has this national identity number")
        ids = view.achievement_ids()
        audit.record_read(
            conn,
            person_id=person_id,
            action="persons.lookup",
            details={
                "endpoint": "POST /v1/persons/lookup",
                "count": len(ids),
                "achievement_ids": [str(i) for i in ids],
                "filters": {"sectors": sectors, "passed_only": body.passed_only},
            },
            **audit_identity(request, principal),
        )
    return PersonOut.of(view)


@router.post(
    "/persons/elmo",
    summary="A person's valid achievements as ELMO XML (EMREX)",
    response_class=Response,
    responses={
        200: {"content": {"application/xml": {"schema": {"type": "string"}}}, "description": "ELMO document"},
        **_PROBLEMS,
    },
)
def elmo(body: NinBody, request: Request, principal: Principal = Depends(require_scope(READ))) -> Response:
    from register.exports.elmo import export_person_elmo

    settings = settings_of(request)
    with engine_of(request).begin() as conn:
        person_id = person_id_by_nin(conn, body.nin, allow_synthetic=settings.synthetic_ids_allowed)
        document = export_person_elmo(conn, person_id, sign=False)
        # The export gives out the person's valid achievements; the audit row names them.
        ids = [str(i) for i in valid_achievement_ids(conn, person_id)]
        audit.record_read(
            conn,
            person_id=person_id,
            action="persons.elmo",
            details={
                "endpoint": "POST /v1/persons/elmo",
                "count": len(ids),
                "achievement_ids": ids,
                "bytes": len(document),
            },
            **audit_identity(request, principal),
        )
    return Response(content=document, media_type="application/xml")
