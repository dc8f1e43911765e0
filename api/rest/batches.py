"""Uploads by providers, and their batch reports.

An upload is streamed to a temporary file with a size bound (``REGISTER_MAX_UPLOAD_BYTES``), never held
in memory, and handed to the import job (``intake.batches``). A small delivery is imported while
the client waits and answered with its report (201); a large one is stored, answered with 202 and a
``Location`` to poll, and processed on a worker thread.

The uploading organisation is always the token's organisation; whether it may deliver for the
awarding organisation of each record is the ingest's check (a record it may not deliver is rejected).

A little over 500 lines on purpose: the upload (body or form, dry run, 201/202) and the batch's reads
(poll, list, rejections, per-record outcomes) are one resource with one visibility rule (your own
batches; another's is a 404), kept in one router so that rule is written once.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated, Any, BinaryIO, cast

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request as StarletteRequest
from starlette.types import Message

from api.auth import Principal, require_scope
from api.deps import EngineDep, SettingsDep, UnitOfWork
from api.errors import ApiError
from api.openapi import documented
from api.openapi import examples as ex
from api.pagination import decode_cursor, encode_cursor
from api.rest.schemas import (
    BatchDetailOut,
    BatchOut,
    BatchPage,
    BatchReportOut,
    RecordOutcomeOut,
    RecordOutcomePage,
    RejectionOut,
    RejectionPage,
)
from importers.base import UnusableInput
from intake.batches import (
    RESUME_AFTER_SECONDS,
    ReceivedBatch,
    abandoned_received,
    process,
    receive,
    resume_received,
    run_import,
    settle_if_interrupted,
)
from intake.dry_run import dry_run as dry_run_import
from intake.report import BatchReport
from register.queries import BatchView, batch_records, batch_rejections, batch_view, list_batches
from register.scopes import Scope
from register.sectors import Sector, listed
from register.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["providers"])

#: deliveries up to this size are imported while the client waits
SYNCHRONOUS_BYTES = 4 * 1024 * 1024
_MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file in a form upload


class BatchAcceptedOut(BaseModel):
    batch_id: uuid.UUID
    status: str
    location: str


#: imports of large deliveries run on this many threads per process, beside the requests
IMPORT_WORKERS = 2


def new_executor() -> ThreadPoolExecutor:
    """The pool large deliveries are imported on: made by the lifespan at start, shut down at stop."""
    return ThreadPoolExecutor(max_workers=IMPORT_WORKERS, thread_name_prefix="import")


def _executor(app: Any) -> ThreadPoolExecutor:
    return cast(ThreadPoolExecutor, app.state.import_executor)


class _Queued:
    """The batches this process has queued and not yet finished, so a poll does not queue one twice."""

    def __init__(self) -> None:
        self._ids: set[uuid.UUID] = set()
        self._lock = threading.Lock()

    def add(self, batch_id: uuid.UUID) -> bool:
        with self._lock:
            if batch_id in self._ids:
                return False
            self._ids.add(batch_id)
            return True

    def done(self, batch_id: uuid.UUID) -> None:
        with self._lock:
            self._ids.discard(batch_id)


def _queued(app: Any) -> _Queued:
    queued = getattr(app.state, "import_queued", None)
    if queued is None:
        queued = app.state.import_queued = _Queued()
    return cast(_Queued, queued)


def resume_abandoned(app: Any) -> int:
    """Queue every batch a stopped server left 'received' (run at start); returns how many were queued.

    Before this a batch answered with 202 and orphaned by a crash stayed 'received' for an hour, and
    was then only failed at the next start or CLI import: a client polling for ``completed`` or
    ``failed`` waited all that time. Its bytes are stored, so it is simply processed now.
    """
    engine: Engine = app.state.engine
    batch_ids = abandoned_received(engine)
    for batch_id in batch_ids:
        _resume(app, batch_id)
    if batch_ids:
        log.info("queued %d batches left received by a stopped server", len(batch_ids))
    return len(batch_ids)


def _resume(app: Any, batch_id: uuid.UUID) -> None:
    if _queued(app).add(batch_id):
        _executor(app).submit(_resume_in_background, app, batch_id)


def _resume_in_background(app: Any, batch_id: uuid.UUID) -> None:
    try:
        resume_received(app.state.engine, batch_id, settings=app.state.settings)
    except Exception:
        # process() has marked the batch failed; the traceback is for operators (it holds no person data).
        log.exception("resumed import of batch %s failed", batch_id)
    finally:
        _queued(app).done(batch_id)


@router.post(
    "/batches",
    status_code=201,
    response_model=BatchReportOut,
    summary="Upload a delivery (file as the body, or multipart form field `file`)",
    **documented(
        status=201,
        request_body=ex.UPLOAD_BODY,
        examples=ex.BATCH_REPORTS,
        errors={
            403: "provider.unknown",
            413: ("upload.too_large", "input.too_large"),
            422: (
                "upload.empty",
                "upload.missing_file",
                "upload.multipart_invalid",
                "sector.unknown",
                "sector.no_importer",
                "format.unknown",
                "format.ambiguous",
            ),
        },
        responses={
            200: {
                "model": BatchReportOut,
                "description": "A dry run's report (`dry_run=true`): what the import would do, nothing stored",
                "content": {"application/json": {"example": ex.DRY_RUN_REPORT}},
            },
            202: {
                "model": BatchAcceptedOut,
                "description": "A large delivery, stored and being processed; poll `Location` after `Retry-After` seconds",
                "content": {"application/json": {"example": ex.BATCH_ACCEPTED}},
            },
        },
    ),
)
async def upload(
    request: Request,
    sector: Sector = Query(description=listed(Sector)),
    filename: str | None = Query(default=None, max_length=255, description="the file's name, if any"),
    dry_run: bool = Query(
        default=False,
        description="validate and report what the import would do, storing nothing (answered 200, never 202)",
    ),
    *,
    principal: Annotated[Principal, Depends(require_scope(Scope.WRITE))],
    engine: EngineDep,
    settings: SettingsDep,
) -> Any:
    # No unit of work here: the upload's transactions are intake's (the bytes commit first, on their
    # own, so that nothing received is lost; the import runs in transactions of its own).
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_SLACK:
        raise _too_large(limit)
    content_type = request.headers.get("content-type")
    # The upload is written once: a body to this file, a form's file part by Starlette's parser; that
    # file is handed to intake as the batch's spool (``hand_over``), not copied into another.
    spool: BinaryIO | None = None
    form: FormData | None = None
    handed_over = False
    try:
        if content_type and content_type.lower().startswith("multipart/form-data"):
            form, spool, filename, content_type = await _read_form(request, limit, filename)
            size = spool.seek(0, io.SEEK_END)
        else:
            spool = cast(BinaryIO, tempfile.TemporaryFile())  # noqa: SIM115 - closed below, or by the import
            size = await _spool_body(request, spool, limit)
        if size > limit:
            raise _too_large(limit)
        if size == 0:
            raise ApiError(422, "upload.empty", "the upload is empty")
        spool.seek(0)
        kwargs: dict[str, Any] = {
            "sector": sector.value,
            "provider_orgnr": principal.orgnr,
            "filename": filename,
            "content_type": content_type,
        }
        try:
            if dry_run:
                # Always while the client waits, whatever the size: nothing is stored to poll later.
                report = await run_in_threadpool(
                    partial(dry_run_import, settings=settings), engine, spool, **kwargs
                )
                return _dry_run_answer(report)
            if size <= SYNCHRONOUS_BYTES:
                report = await run_in_threadpool(
                    partial(run_import, hand_over=True),
                    engine,
                    spool,
                    submitted_by=principal.client_id,
                    settings=settings,
                    **kwargs,
                )
            else:
                received = await run_in_threadpool(
                    partial(receive, hand_over=True),
                    engine,
                    spool,
                    submitted_by=principal.client_id,
                    settings=settings,
                    **kwargs,
                )
                handed_over = True  # the background import reads it and closes it
                _queued(request.app).add(received.batch_id)
                _executor(request.app).submit(
                    _process_in_background, request.app, engine, received, settings, kwargs
                )
                location = f"/v1/batches/{received.batch_id}"
                body = BatchAcceptedOut(batch_id=received.batch_id, status="received", location=location)
                return JSONResponse(
                    body.model_dump(mode="json"),
                    status_code=202,
                    headers={"Location": location, "Retry-After": str(retry_after(size))},
                )
        except UnusableInput as exc:
            if exc.code == "provider.unknown":
                raise ApiError(403, exc.code, "your organisation is not registered as a provider") from None
            raise
    finally:
        if not handed_over:
            if spool is not None:
                spool.close()
            if form is not None:
                await form.close()
    location = f"/v1/batches/{report.batch_id}"
    if report.status == "failed" and report.failure is not None:
        raise ApiError(
            422,
            report.failure.code,
            report.failure.message,
            headers={"Location": location},
            extra={"batch_id": str(report.batch_id)},
        )
    out = BatchReportOut.model_validate(report.as_dict())
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers={"Location": location})


#: The import's pace for the Retry-After hint: the national-scale load ran at 7 300 achievements/s
#: from files of 9.0 GB for 29 M achievements (~310 bytes each), about 2 MiB a second
#: (docs/performance.md). The hint asks for a poll after about half the expected run, at least 1 s and
#: at most 60 s, so a client neither hammers nor oversleeps a long import.
_BYTES_PER_SECOND = 2 * 1024 * 1024


def retry_after(size_bytes: int) -> int:
    """Seconds a client should wait before polling a batch of this size."""
    return max(1, min(60, size_bytes // (2 * _BYTES_PER_SECOND)))


def _dry_run_answer(report: BatchReport) -> JSONResponse:
    if report.status == "failed" and report.failure is not None:
        raise ApiError(422, report.failure.code, report.failure.message, extra={"dry_run": True})
    out = BatchReportOut.model_validate(report.as_dict())
    return JSONResponse(out.model_dump(mode="json"), status_code=200)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "upload.too_large", f"the upload is larger than the limit of {limit} bytes")


async def _spool_body(request: Request, spool: BinaryIO, limit: int) -> int:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        spool.write(chunk)
    return size


async def _read_form(
    request: Request, limit: int, filename: str | None
) -> tuple[FormData, BinaryIO, str | None, str | None]:
    """The form and its file part (Starlette's spooled file, which the caller closes with the form)."""
    received = 0

    async def bounded_receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit + _MULTIPART_SLACK:
                raise _too_large(limit)
        return message

    # Starlette's parser spools file parts to disk past 1 MiB; the bounded receive caps the total.
    bounded = StarletteRequest(request.scope, bounded_receive)
    try:
        form = await bounded.form(max_files=1, max_fields=8)
    except StarletteHTTPException as exc:
        raise ApiError(
            422, "upload.multipart_invalid", f"the form upload cannot be read: {exc.detail}"
        ) from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        await form.close()
        raise ApiError(422, "upload.missing_file", "a form upload needs the file in the field 'file'")
    return form, cast(BinaryIO, upload.file), filename or upload.filename, upload.content_type


def _process_in_background(
    app: Any, engine: Engine, received: ReceivedBatch, settings: Settings, kwargs: dict[str, Any]
) -> None:
    try:
        with received.spool:
            process(
                engine,
                received,
                provider_orgnr=kwargs["provider_orgnr"],
                filename=kwargs["filename"],
                content_type=kwargs["content_type"],
                settings=settings,
            )
    except Exception:
        # process() has marked the batch failed; the traceback is for operators (it holds no person data).
        log.exception("background import of batch %s failed", received.batch_id)
    finally:
        _queued(app).done(received.batch_id)


def _abandoned(batch: BatchView) -> bool:
    age = dt.datetime.now(dt.UTC) - batch.received_at
    return age > dt.timedelta(seconds=RESUME_AFTER_SECONDS)


def _may_read(principal: Principal, batch: BatchView) -> bool:
    return principal.has(Scope.ADMIN) or batch.provider_orgnr == principal.orgnr


def _batch_out(batch: BatchView) -> dict[str, Any]:
    fields = {k: getattr(batch, k) for k in BatchView.__dataclass_fields__ if k != "provider_orgnr"}
    return {**fields, "provider": batch.provider_orgnr}


_REJECTIONS_PAGE = 100


@router.get(
    "/batches/{batch_id}",
    response_model=BatchDetailOut,
    summary="A batch: status, counts, and its first rejections",
    **documented(example=ex.BATCH_DETAIL, errors={404: "batch.not_found"}),
)
def get_batch(
    batch_id: uuid.UUID,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require_scope(Scope.WRITE, Scope.ADMIN))],
    engine: EngineDep,
) -> BatchDetailOut:
    # Its own transaction, not the unit of work: a batch found interrupted is settled and committed
    # before the poll queues a resume, whose worker must see it (it claims the batch by lock).
    with engine.begin() as conn:
        settle_if_interrupted(conn, batch_id)
        batch = batch_view(conn, batch_id)
        # Another organisation's batch is answered exactly like a missing one.
        if batch is None or not _may_read(principal, batch):
            raise ApiError(404, "batch.not_found", "no batch with this id is visible to your organisation")
        rejections = batch_rejections(conn, batch_id, limit=_REJECTIONS_PAGE + 1)
    if batch.status == "received" and _abandoned(batch):
        # The poll itself resumes a batch no worker has taken up (its server stopped, or the queue of
        # another worker process holds it: then whichever claims it first processes it).
        _resume(request.app, batch_id)
    more = len(rejections) > _REJECTIONS_PAGE
    rejections = rejections[:_REJECTIONS_PAGE]
    body = BatchDetailOut(
        **_batch_out(batch),
        rejections=[_rejection(r) for r in rejections],
        rejections_next=f"/v1/batches/{batch_id}/rejections?after={rejections[-1].seq}" if more else None,
    )
    if batch.status in ("received", "processing"):  # not done yet: when to ask again
        response.headers["Retry-After"] = str(retry_after(batch.size_bytes))
    return body


def _rejection(r: Any) -> RejectionOut:
    return RejectionOut(seq=r.seq, record=r.record, path=r.path, code=r.code, message=r.message)


@router.get(
    "/batches/{batch_id}/rejections",
    response_model=RejectionPage,
    summary="A batch's rejections, in delivery order, paged",
    **documented(example=ex.REJECTION_PAGE, errors={404: "batch.not_found"}),
)
def get_rejections(
    batch_id: uuid.UUID,
    after: int = Query(default=0, ge=0, le=2**31 - 1),
    limit: int = Query(default=100, ge=1, le=1000),
    *,
    principal: Annotated[Principal, Depends(require_scope(Scope.WRITE, Scope.ADMIN))],
    conn: UnitOfWork,
) -> RejectionPage:
    batch = batch_view(conn, batch_id)
    if batch is None or not _may_read(principal, batch):
        raise ApiError(404, "batch.not_found", "no batch with this id is visible to your organisation")
    rows = batch_rejections(conn, batch_id, after_seq=after, limit=limit + 1)
    page = rows[:limit]
    return RejectionPage(
        items=[_rejection(r) for r in page], next_after=page[-1].seq if len(rows) > limit else None
    )


@router.get(
    "/batches",
    response_model=BatchPage,
    summary="Your organisation's batches, newest first (admins: every organisation's)",
    **documented(example=ex.BATCH_PAGE, errors={422: "request.cursor"}),
)
def get_batches(
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=500),
    *,
    principal: Annotated[Principal, Depends(require_scope(Scope.WRITE, Scope.ADMIN))],
    conn: UnitOfWork,
) -> BatchPage:
    before = None
    if cursor:
        at, batch_id = decode_cursor(cursor, 2)
        try:
            before = (dt.datetime.fromisoformat(at), uuid.UUID(batch_id))
        except ValueError:
            raise ApiError(422, "request.cursor", "the cursor is not one this API handed out") from None
    provider = None if principal.has(Scope.ADMIN) else principal.orgnr
    rows = list_batches(conn, provider, before=before, limit=limit + 1)
    page = rows[:limit]
    next_cursor = (
        encode_cursor(page[-1].received_at.isoformat(), str(page[-1].id)) if len(rows) > limit else None
    )
    return BatchPage(items=[BatchOut(**_batch_out(b)) for b in page], next_cursor=next_cursor)


_NOT_VISIBLE = "no batch with this id is visible to your organisation"


@router.get(
    "/batches/{batch_id}/records",
    response_model=RecordOutcomePage,
    summary="What became of each record of your batch: its source key, achievement id and outcome, paged",
    **documented(example=ex.RECORD_PAGE, errors={404: "batch.not_found", 422: "request.cursor"}),
)
def get_records(
    batch_id: uuid.UUID,
    cursor: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=100, ge=1, le=1000),
    *,
    principal: Annotated[Principal, Depends(require_scope(Scope.WRITE))],
    conn: UnitOfWork,
) -> RecordOutcomePage:
    # Only the uploading organisation's own batches: another's is answered exactly like a missing one
    # (404, not 403), so batch ids cannot be probed. The achievement ids are what the provider needs to
    # withdraw a result (POST /v1/achievements/{id}/withdrawal) without the read scope.
    batch = batch_view(conn, batch_id)
    if batch is None or batch.provider_orgnr != principal.orgnr:
        raise ApiError(404, "batch.not_found", _NOT_VISIBLE)
    after = (0, 0)
    if cursor:
        part, seq = decode_cursor(cursor, 2)
        if not (part in ("0", "1") and seq.isdigit() and len(seq) <= 10):
            raise ApiError(422, "request.cursor", "the cursor is not one this API handed out")
        after = (int(part), int(seq))
    rows = batch_records(conn, batch_id, after=after, limit=limit + 1)
    page = rows[:limit]
    return RecordOutcomePage(
        items=[
            RecordOutcomeOut(
                record=r.record,
                source_key=r.source_key,
                achievement_id=r.achievement_id,
                outcome=r.outcome,
                code=r.code,
            )
            for r in page
        ],
        next_cursor=encode_cursor(str(page[-1].part), str(page[-1].seq)) if len(rows) > limit else None,
    )
