"""Look-ups of one person (Vitnemålsportalen and other entitled services): JSON and ELMO.

The national id comes in the body only. Authorisation is checked before the number is even parsed,
so a caller without ``kompetanse:read`` learns nothing about whether a person exists. No answer leaves
before its audit row is committed: the JSON look-up's row by the audit group writer (one commit for the
look-ups waiting together, register/audit_group.py), the ELMO look-up's in the read's own transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from psycopg import AsyncConnection
from pydantic import ConfigDict, Field, model_validator

from api.async_db import LoopDatabase
from api.auth import Principal, require_scope
from api.deps import EngineDep, SettingsDep
from api.openapi import documented
from api.openapi import examples as ex
from api.rest.common import audit_identity
from api.rest.schemas import NinBody, PersonOut, person_out_document
from register import audit
from register.errors import NotFound
from register.persons import nin_key, person_id_by_nin, person_not_found
from register.queries import PersonRows, Selection, nin_statement, person_rows_of
from register.scopes import Scope
from register.sectors import Sector

router = APIRouter(prefix="/v1", tags=["persons"])

#: what a look-up by national id can answer besides the common codes (docs/errors.md, persons)
_NIN_ERRORS = {
    404: "person.not_found",
    422: ("nin.format", "nin.date_part", "nin.checksum", "nin.synthetic_not_allowed"),
}


# A student's choice is a handful of results; a vitnemål with its subjects is some thirty ids.
MAX_SELECTED = 1000


class SelectionIn(NinBody):
    """The national id and what of the person's results to give out (``register.queries.Selection``)."""

    model_config = ConfigDict(extra="forbid")
    achievements: list[uuid.UUID] | None = Field(
        default=None,
        max_length=MAX_SELECTED,
        description="only these achievements (ids from an earlier look-up); a parent chosen without its "
        "parts comes without them",
    )
    sectors: list[Sector] | None = Field(
        default=None, max_length=len(Sector), description="only these sectors"
    )
    passed_only: bool = Field(default=False, description="leave out results that were not passed")
    completed_from: dt.date | None = Field(
        default=None, alias="from", description="only results completed on or after this date"
    )
    completed_to: dt.date | None = Field(
        default=None, alias="to", description="only results completed on or before this date"
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> SelectionIn:
        if self.completed_from and self.completed_to and self.completed_from > self.completed_to:
            raise ValueError("'from' is after 'to'")
        return self

    def selection(self) -> Selection:
        return Selection(
            achievements=tuple(self.achievements) if self.achievements is not None else None,
            sectors=tuple(s.value for s in self.sectors) if self.sectors else None,
            passed_only=self.passed_only,
            completed_from=self.completed_from,
            completed_to=self.completed_to,
        )

    def given(self) -> dict[str, Any]:
        """Exactly what the caller sent besides the number, for the audit row."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude={"nin"})


@router.post(
    "/persons/lookup",
    # The answer is built and encoded here (person_out_document); the model documents it in OpenAPI.
    response_model=PersonOut,
    summary="A person and all their valid achievements, nested",
    **documented(request_example=ex.LOOKUP_IN, example=ex.PERSON, errors=_NIN_ERRORS),
)
async def lookup(
    body: SelectionIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(Scope.READ))],
    settings: SettingsDep,
) -> Response:
    kind, value = nin_key(body.nin, allow_synthetic=settings.synthetic_ids_allowed)
    database: LoopDatabase = request.app.state.loop_database
    # On the event loop, not the thread pool: one statement on an asynchronous connection (prepared on
    # it once) finds the person and their achievements; a number no person holds and an identifier that
    # outlived its person both come back as nothing. The connection goes back before the audit row is
    # written: the row is written by the group writer, on a connection of its own.
    statement, params = nin_statement(kind, value, body.selection())

    async def read(conn: AsyncConnection) -> PersonRows | None:
        cursor = await conn.execute(statement, params, prepare=True)
        return person_rows_of(await cursor.fetchall())

    rows = await database.pool.run(read)
    filters = body.given()
    who = audit_identity(request, principal)
    if rows is None:
        # A 404 tells the caller the number is unknown: that answer is audited as much as a 200.
        probe = {"endpoint": "POST /v1/persons/lookup", "filters": filters, "outcome": audit.NOT_FOUND}
        await database.audit.append(audit.event_values(action="persons.lookup", details=probe, **who))
        raise person_not_found()
    document = person_out_document(rows)
    ids = _ids_depth_first(document["achievements"])
    details: dict[str, Any] = {
        "endpoint": "POST /v1/persons/lookup",
        "count": len(ids),
        "achievement_ids": ids,
        "filters": filters,
    }
    # Returns once the row's commit has returned (group commit, register/audit_group.py); raises
    # AuditNotWritten otherwise, and the answer is a 5xx without the data.
    await database.audit.append(
        audit.event_values(action="persons.lookup", person_id=uuid.UUID(rows.id), details=details, **who)
    )
    # Returned as bytes, so FastAPI does not validate and encode the nested answer a second time.
    return Response(content=orjson.dumps(document), media_type="application/json")


def _ids_depth_first(achievements: list[dict[str, Any]]) -> list[str]:
    """The ids given out, in ``PersonView.achievement_ids`` order (depth first) for the audit row."""
    found: list[str] = []
    stack = list(reversed(achievements))
    while stack:
        node = stack.pop()
        found.append(node["id"])
        stack.extend(reversed(node["parts"]))
    return found


@router.post(
    "/persons/elmo",
    summary="A person's valid achievements as ELMO XML (EMREX), signed when the register has a key",
    response_class=Response,
    **documented(
        request_example=ex.NIN_IN,
        example=ex.ELMO,
        media_type="application/xml",
        # 503 also when a production register has no ELMO signing key of its own (docs/operations.md)
        errors={**_NIN_ERRORS, 503: ("elmo.signing_not_configured", "elmo.signing_key_unreadable")},
        responses={
            200: {
                "content": {"application/xml": {"schema": {"type": "string"}}},
                "description": "ELMO document",
            }
        },
    ),
)
def elmo(
    body: SelectionIn,
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(Scope.READ))],
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    from register.exports import person_elmo
    from register.exports.signing import required_identity

    # First, before the number is read: a register that cannot sign answers 503 for every person alike.
    signer = required_identity(settings)
    unknown: NotFound | None = None
    # Its own transaction, not the unit of work (api/deps.py): the audit row of a 404 must commit,
    # and the unit of work rolls back whatever the handler raises.
    with engine.begin() as conn:
        try:
            person_id = person_id_by_nin(conn, body.nin, allow_synthetic=settings.synthetic_ids_allowed)
        except NotFound as exc:
            # Audited as the look-up's 404 is; the row commits with the block, then the 404 leaves.
            audit.record_not_found(
                conn,
                action="persons.elmo",
                details={"endpoint": "POST /v1/persons/elmo", "filters": body.given()},
                **audit_identity(request, principal),
            )
            unknown = exc
        else:
            details: dict[str, Any] = {"endpoint": "POST /v1/persons/elmo", "filters": body.given()}
            try:
                export = person_elmo(conn, person_id, body.selection(), signer=signer)
            except NotFound as exc:
                # Nothing to give out under this selection: the answer still tells that the person
                # exists, so it is a read of that person (of no achievements).
                details.update(count=0, achievement_ids=[])
                unknown = exc
            else:
                document = export.document
                # The audit row names exactly the achievements the document holds (from the same read).
                details.update(
                    count=len(export.achievement_ids),
                    achievement_ids=export.achievement_ids,
                    bytes=len(document),
                    signed=export.signed,
                )
            audit.record_read(
                conn,
                person_id=person_id,
                action="persons.elmo",
                details=details,
                **audit_identity(request, principal),
            )
    if unknown is not None:
        raise unknown
    return Response(content=document, media_type="application/xml")
