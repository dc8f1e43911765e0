"""Corrections by providers: withdrawal of one achievement, with a reason."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal, require_scope
from api.deps import UnitOfWork
from api.errors import problem_responses
from api.rest.schemas import WithdrawalIn, WithdrawalOut
from register.scopes import Scope
from register.withdrawals import withdraw_achievement

router = APIRouter(prefix="/v1", tags=["providers"])


@router.post(
    "/achievements/{achievement_id}/withdrawal",
    response_model=WithdrawalOut,
    summary="Withdraw an achievement your organisation delivered (a new version, never a delete)",
    responses=problem_responses(401, 403, 404, 409, 413, 422, 503),
)
def withdraw(
    achievement_id: uuid.UUID,
    body: WithdrawalIn,
    principal: Annotated[Principal, Depends(require_scope(Scope.WRITE))],
    conn: UnitOfWork,
) -> WithdrawalOut:
    done = withdraw_achievement(conn, achievement_id, provider_orgnr=principal.orgnr, reason=body.reason)
    return WithdrawalOut(id=done.id, status="withdrawn", version=done.version, withdrawal_reason=done.reason)
