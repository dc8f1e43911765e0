"""The ASGI application: ``create_app()`` builds it (``register serve`` runs it with uvicorn's factory mode).

Everything the app needs is decided here, once: settings, the database engine, the token verifier
(the trusted issuers and their keys). Tests build an app with their own settings and engine.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from api import citizen, dashboard, health
from api.async_db import LoopDatabase
from api.auth import TokenVerifier
from api.background import AuditCheckpointWriter, StatsRefresher
from api.docs_ui import install_docs_pages
from api.errors import install_error_handlers
from api.graphql import graphql_router
from api.graphql.context import new_stats_results
from api.limits import BodyLimitMiddleware, HeaderLimitMiddleware, QueryTextMiddleware
from api.logs import RequestContextMiddleware, configure_api_logging, install_access_log_redaction
from api.oots import preview as oots_preview
from api.oots import query as oots_query
from api.openapi import install_openapi
from api.params import refuse_repeated
from api.rest import achievements, admin, audit, batches, persons, stats
from api.wallet import install as install_wallet
from register.scopes import scopes_listed
from register.settings import Settings, get_settings
from register.stats import VersionedCache

log = logging.getLogger(__name__)

DESCRIPTION = f"""\
Kompetanseregisteret — the national register of competence evidence.

Authenticate with an OAuth2 bearer token shaped like a Maskinporten access token. Scopes:
{scopes_listed()}.
Errors are `application/problem+json` with a stable `code` (see docs/errors.md).
A national identity number is only ever sent in a request body.
"""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    if engine is None:
        from register.database import get_engine

        engine = get_engine()
    app = FastAPI(
        lifespan=_lifespan,
        title="Kompetanseregisteret",
        version="1",
        description=DESCRIPTION,
        # /docs and /redoc are served by api/docs_ui with the package's own assets (FastAPI's use a CDN).
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.verifier = TokenVerifier.from_settings(settings)
    # The JSON look-up's asynchronous pool and audit group writer, one per worker process.
    app.state.loop_database = LoopDatabase(engine, pool_size=settings.lookup_pool_size)
    # Statistics answers change only when a refresh commits: REST keeps them encoded, GraphQL as results.
    app.state.stats_answers = VersionedCache[bytes](settings.stats_cache_bytes, len)
    app.state.stats_results = new_stats_results(settings)
    install_error_handlers(app)
    configure_api_logging(settings.log_level)
    install_access_log_redaction()
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(QueryTextMiddleware)
    app.add_middleware(HeaderLimitMiddleware)
    app.add_middleware(RequestContextMiddleware)  # outermost: the request id exists for all else
    app.include_router(health.router)
    for module in (batches, achievements, persons, stats, admin, audit):
        # A repeated query parameter is a set where the operation declares one, refused elsewhere.
        app.include_router(module.router, dependencies=[Depends(refuse_repeated)])
    app.include_router(graphql_router(settings))  # /graphql (docs/graphql.md)
    install_wallet(app)  # OpenID4VCI issuer: /.well-known/*, /wallet/* (docs/wallet.md)
    citizen.install(app, settings)  # /me: the citizen's login and pages (docs/citizen.md)
    dashboard.install(app)  # /dashboard: the analysts' charts (docs/dashboard.md)
    install_openapi(app)  # /openapi.json: examples, error codes and scopes per operation (api/openapi)
    install_docs_pages(app, settings)  # /docs, /redoc, /graphiql
    app.include_router(oots_query.router)  # /oots/v2/query: the OOTS connector (docs/oots.md)
    app.include_router(oots_preview.router)  # /oots/preview/…: the citizen's preview
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    executor = app.state.import_executor = batches.new_executor()
    # Batches a stopped server answered 202 for but never took up are processed now, not left waiting.
    try:
        batches.resume_abandoned(app)
    except Exception:
        # The database may be away at start; a client's next poll of such a batch resumes it.
        log.exception("could not look for batches left received; their next poll resumes them")
    workers: list[StatsRefresher | AuditCheckpointWriter] = []
    if settings.stats_refresh == "background":
        workers.append(StatsRefresher(app.state.engine, settings.stats_refresh_seconds))
    if settings.audit_checkpoint_dir is not None:
        workers.append(AuditCheckpointWriter(app.state.engine, settings))
    for worker in workers:
        worker.start()
    _freeze_heap_once()
    try:
        yield
    finally:
        for worker in workers:
            worker.stop()
        # Imports under way finish (their batch would otherwise wait for the next start's resume);
        # those still queued are left 'received', and the next start or a client's poll resumes them.
        executor.shutdown(wait=True, cancel_futures=True)
        await app.state.loop_database.close()


_heap_frozen = False


def _freeze_heap_once() -> None:
    """Keep what exists once the app has started out of the garbage collector's passes, once a process.

    Modules, routes, schemas, settings and pools live as long as the process and never become garbage,
    yet every full pass of the collector walked all of them: a look-up allocates a few hundred dicts and
    tuples, so the collector ran every few look-ups and its full passes, walking everything, were a
    fifth of a worker's CPU and the tail of its latency (docs/performance.md, "The collector's full
    passes"). Here, in the lifespan, it runs in each worker process after its app exists — before
    ``uvicorn.run`` it missed the app, and with several workers every worker process. Garbage is
    collected first, so none is kept for good.
    Once per process: a test process starts many apps, and freezing again would keep its tests' apps.
    """
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()
