"""One achievement: its withdrawal by the provider (a new version, with a reason) and its history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import Principal, require_scope
from api.deps import EngineDep, UnitOfWork
from api.openapi import documented
from api.openapi import examples as ex
from api.rest.common import audit_identity
from api.rest.schemas import VersionsOut, WithdrawalIn, WithdrawalOut
from register import audit
from register.errors import NotFound
from register.history import achievement_history
from register.scopes import Scope
from register.withdrawals import withdraw_achievement

router = APIRouter(prefix="/v1", tags=["providers"])


@router.post(
    "/achievements/{achievement_id}/withdrawal",
    response_model=WithdrawalOut,
    summary="Withdraw an achievement your organisation delivered (a new version, never a delete)",
    **documented(
        request_example=ex.WITHDRAWAL_IN,
        example=ex.WITHDRAWAL,
        errors={
            404: "achievement.not_found",
            409: "achievement.already_withdrawn",
            422: "withdrawal.reason_missing",
        },
    ),
)
def withdraw(
    achievement_id: uuid.UUID,
    body: WithdrawalIn,
    principal: Annotated[Principal, Depends(require_scope(Scope.WRITE))],
    conn: UnitOfWork,
) -> WithdrawalOut:
    done = withdraw_achievement(conn, achievement_id, provider_orgnr=principal.orgnr, reason=body.reason)
    return WithdrawalOut(id=done.id, status="withdrawn", version=done.version, withdrawal_reason=done.reason)


@router.get(
    "/achievements/{achievement_id}/versions",
    response_model=VersionsOut,
    summary="Every version of an achievement, oldest first: what it said, who delivered it, when",
    **documented(example=ex.VERSIONS, errors={404: "achievement.not_found"}),
)
def versions(
    achievement_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(Scope.READ))],
    engine: EngineDep,
) -> VersionsOut:
    # Its own transaction, as the ELMO endpoint's (persons.py): the audit row of a 404 must commit too.
    unknown: NotFound | None = None
    with engine.begin() as conn:
        try:
            history = achievement_history(conn, achievement_id)
        except NotFound as exc:
            # Probing ids for results is audited as probing national ids is.
            audit.record_not_found(
                conn,
                action="achievements.versions",
                details={
                    "endpoint": "GET /v1/achievements/{id}/versions",
                    "achievement_id": str(achievement_id),
                },
                **audit_identity(request, principal),
            )
            unknown = exc
        else:
            audit.record_read(
                conn,
                person_id=history.person_id,
                action="achievements.versions",
                details={
                    "endpoint": "GET /v1/achievements/{id}/versions",
                    "achievement_ids": [str(achievement_id)],
                    "versions": [v.version for v in history.versions],
                },
                **audit_identity(request, principal),
            )
    if unknown is not None:
        raise unknown
    return VersionsOut.of(history)
