"""Corrections by providers: withdrawal of one achievement, with a reason."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal, require_scope
from api.deps import UnitOfWork
from api.openapi import documented
from api.openapi import examples as ex
from api.rest.schemas import WithdrawalIn, WithdrawalOut
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
