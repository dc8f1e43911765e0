"""Operations: liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import EngineDep
from api.errors import ApiError
from api.openapi import documented
from api.openapi import examples as ex
from register.schema import at_head

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


@router.get(
    "/health", response_model=Health, summary="Liveness: the process answers", **documented(example=ex.HEALTH)
)
def health() -> Health:
    return Health(status="ok")


@router.get(
    "/health/ready",
    response_model=Health,
    summary="Readiness: the database answers and has every migration",
    **documented(
        example=ex.HEALTH, errors={503: ("health.database_unreachable", "health.migrations_pending")}
    ),
)
def ready(engine: EngineDep) -> Health:
    # Its own connection, not the unit of work (api/deps.py): a database that cannot be reached is
    # this endpoint's answer (health.database_unreachable), not an error before it runs.
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            migrated = at_head(conn)
    except SQLAlchemyError:
        raise ApiError(503, "health.database_unreachable", "the database cannot be reached") from None
    if not migrated:
        raise ApiError(503, "health.migrations_pending", "the database is not migrated to the newest schema")
    return Health(status="ready")
