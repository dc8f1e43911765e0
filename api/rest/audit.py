"""The audit trail for administrators: the events, and who looked at one person."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from api.auth import Principal, require_scope
from api.deps import SettingsDep, UnitOfWork
from api.openapi import documented
from api.openapi import examples as ex
from api.rest.common import audit_identity
from api.rest.schemas import NinBody
from register import audit
from register.persons import person_id_by_nin
from register.scopes import Scope

router = APIRouter(prefix="/v1", tags=["admin"])


class AuditEventOut(BaseModel):
    id: int
    occurred_at: dt.datetime
    request_id: str | None
    client_id: str | None
    organisation: str | None
    scope: str | None
    person_id: uuid.UUID | None
    action: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_before_id: int | None


class PersonAccessOut(BaseModel):
    occurred_at: dt.datetime
    organisation: str | None
    organisation_name: str | None
    client_id: str | None
    action: str
    scope: str | None


@router.get(
    "/audit",
    response_model=AuditPage,
    summary="Audit events, newest first",
    **documented(example=ex.AUDIT_PAGE),
)
def events(
    request: Request,
    person_id: uuid.UUID | None = Query(default=None, description="the register's internal person id"),
    organisation: str | None = Query(default=None, pattern=r"^\d{9}$"),
    action: str | None = Query(default=None, max_length=64),
    since: dt.datetime | None = Query(default=None),
    until: dt.datetime | None = Query(default=None),
    before_id: int | None = Query(default=None, ge=1, le=2**63 - 1),
    limit: int = Query(default=100, ge=1, le=1000),
    *,
    principal: Annotated[Principal, Depends(require_scope(Scope.ADMIN))],
    conn: UnitOfWork,
) -> AuditPage:
    rows = audit.list_events(
        conn,
        person_id=person_id,
        organisation=organisation,
        action=action,
        since=since,
        until=until,
        before_id=before_id,
        limit=limit + 1,
    )
    page = rows[:limit]
    # Reading the trail is itself on the trail (it names persons, if only by internal id).
    audit.record_event(
        conn,
        action="audit.list",
        details={"endpoint": "GET /v1/audit", "count": len(page)},
        **audit_identity(request, principal),
    )
    return AuditPage(
        items=[_event(e) for e in page],
        next_before_id=page[-1].id if len(rows) > limit else None,
    )


def _event(e: audit.AuditEntry) -> AuditEventOut:
    return AuditEventOut(
        id=e.id,
        occurred_at=e.occurred_at,
        request_id=e.request_id,
        client_id=e.client_id,
        organisation=e.organisation,
        scope=e.scope,
        person_id=e.person_id,
        action=e.action,
        details=e.details,
    )


@router.post(
    "/audit/person-accesses",
    response_model=list[PersonAccessOut],
    summary="Who looked at one person's data (national id in the body)",
    **documented(
        request_example=ex.NIN_IN,
        example=ex.PERSON_ACCESSES,
        errors={
            404: "person.not_found",
            422: ("nin.format", "nin.date_part", "nin.checksum", "nin.synthetic_not_allowed"),
        },
    ),
)
def person_accesses(
    body: NinBody,
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(Scope.ADMIN))],
    settings: SettingsDep,
    conn: UnitOfWork,
) -> list[PersonAccessOut]:
    person_id = person_id_by_nin(conn, body.nin, allow_synthetic=settings.synthetic_ids_allowed)
    accesses = audit.accesses_to_person(conn, person_id)
    audit.record_read(
        conn,
        person_id=person_id,
        action="audit.person_accesses",
        details={"endpoint": "POST /v1/audit/person-accesses", "count": len(accesses)},
        **audit_identity(request, principal),
    )
    return [PersonAccessOut.model_validate(a, from_attributes=True) for a in accesses]
