"""``POST /oots/v2/query``: the interface the connector between the AS4 access point and the register calls.

The access point (Domibus, Harmony) receives the AS4 user message and hands its payload, the EDM
``QueryRequest``, to a connector, which posts it here as ``application/x-ebrs+xml`` with a
Maskinporten token of scope ``kompetanse:oots``. The answer is the EDM response: on its own
(``application/x-ebrs+xml``) when it carries no evidence, else ``multipart/related`` with the response
as the root part and each evidence document as a further part whose ``Content-ID`` is the one the
response's ``rim:RepositoryItemRef xlink:href="cid:…"`` names — the shape AS4 carries them in, so the
connector maps parts to payloads one to one (docs/oots.md). EDM errors are EDM answers (HTTP 200);
HTTP errors are only about the HTTP exchange itself (token, media type, size).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, require_scope
from api.deps import EngineDep, SettingsDep
from api.errors import ApiError
from api.oots import examples
from api.openapi import documented
from register.oots.response import Answer
from register.oots.service import Caller, answer
from register.scopes import Scope

router = APIRouter(prefix="/oots", tags=["oots"])

EBRS = "application/x-ebrs+xml"
_ACCEPTED = frozenset({EBRS, "application/xml", "text/xml"})


@router.post(
    "/v2/query",
    summary="Answer an OOTS EDM evidence request (connector of the AS4 access point)",
    response_class=Response,
    **documented(
        example=examples.PREVIEW_REQUIRED,
        media_type=EBRS,
        request_body={"content": {EBRS: {"schema": {"type": "string"}, "example": examples.QUERY_REQUEST}}},
        errors={413: "oots.too_large", 415: "oots.media_type", 503: "oots.not_configured"},
        responses={
            200: {
                "description": "the EDM QueryResponse: an error or preview as the body alone; evidence as"
                " multipart/related, the response first and each evidence a further part named by cid:",
                "content": {
                    "multipart/related": {"schema": {"type": "string"}, "example": examples.EVIDENCE_RESPONSE}
                },
            }
        },
    ),
)
async def query(
    request: Request,
    principal: Annotated[Principal, Depends(require_scope(Scope.OOTS))],
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    try:
        settings.oots_preview_base  # noqa: B018  (production: refuse before any person is looked up)
    except ValueError as exc:
        raise ApiError(503, "oots.not_configured", str(exc)) from None
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _ACCEPTED:
        raise ApiError(415, "oots.media_type", f"send the EDM QueryRequest as {EBRS}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.oots_max_request_bytes:
            raise ApiError(
                413, "oots.too_large", f"the request is larger than {settings.oots_max_request_bytes} bytes"
            )
    caller = Caller(
        client_id=principal.client_id,
        organisation=principal.orgnr,
        scope=principal.scope_text,
        request_id=getattr(request.state, "request_id", None),
    )

    def run() -> Answer:
        # Its own transaction, in a worker thread: the body had to be read asynchronously first, and
        # the answer (evidence, preview row and audit row) commits before a byte of it is sent.
        with engine.begin() as conn:
            return answer(conn, bytes(body), settings, caller).answer

    return as_http(await run_in_threadpool(run))


def as_http(result: Answer) -> Response:
    if not result.attachments:
        return Response(result.document, media_type=EBRS)
    boundary = f"oots-{secrets.token_hex(16)}"
    root_id = f"regrep-{secrets.token_hex(8)}@kompetanseregisteret"
    parts = [_part(root_id, f"{EBRS}; charset=UTF-8", result.document)]
    parts += [_part(a.content_id, a.media_type, a.data) for a in result.attachments]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    content_type = f'multipart/related; type="{EBRS}"; boundary="{boundary}"; start="<{root_id}>"'
    return Response(body, headers={"content-type": content_type})


def _part(content_id: str, media_type: str, data: bytes) -> bytes:
    head = f"Content-Type: {media_type}\r\nContent-ID: <{content_id}>\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    return head.encode() + data
