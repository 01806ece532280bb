"""create_app(settings): wires routers, error handlers, middleware, the job worker."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from labelvault import __version__
from labelvault.accounts.api import router as accounts_router
from labelvault.annotations.api import router as annotations_router
from labelvault.annotations.api import save_annotation
from labelvault.annotations.review_api import router as review_router
from labelvault.api.context import AppContext
from labelvault.api.express import Express, route_of
from labelvault.assignments.api import next_item
from labelvault.assignments.api import router as assignments_router
from labelvault.config import Settings
from labelvault.crypto.content import ContentCipher, EnvelopeCipher, bind_cipher
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.media import SealedBlobStore
from labelvault.crypto.service import Envelope
from labelvault.db.engine import build_engine, session_factory
from labelvault.errors import DomainError, NotAuthenticated
from labelvault.exports.api import router as exports_router
from labelvault.exports.formats_api import router as format_exports_router
from labelvault.exports.job import BundleJob, ExportJob
from labelvault.items.api import router as items_router
from labelvault.items.importer import Importer
from labelvault.jobs.api import router as jobs_router
from labelvault.jobs.runner import Handler, Runner
from labelvault.kit.workers import WorkerThreads
from labelvault.ledger.api import router as ledger_router
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.writer import LedgerWriter, Sealer
from labelvault.ops.api import router as ops_router
from labelvault.ops.logging import configure_logging
from labelvault.ops.observe import ObserveRequests
from labelvault.ops.warmup import warm_up
from labelvault.predictions.api import router as predictions_router
from labelvault.predictions.importer import PredictionImporter
from labelvault.projects.api import router as projects_router
from labelvault.quality.api import router as quality_router
from labelvault.quality.refresh import refresh_project
from labelvault.quality.service import REFRESH_JOB
from labelvault.storage import BlobStore, LocalBlobStore
from labelvault.web.account import router as account_pages
from labelvault.web.frame import STATIC_DIR, render
from labelvault.web.home import router as home_page
from labelvault.web.invitations import router as invitations_page
from labelvault.web.labeling import router as labeling_page
from labelvault.web.manage import router as manager_pages
from labelvault.web.overview import router as overview_page
from labelvault.web.review import router as review_pages
from labelvault.web.workforce import router as workforce_pages
from labelvault.workforce.api import router as workforce_router


def build_blob_stores(settings: Settings) -> tuple[BlobStore, BlobStore]:
    if settings.blob_store == "s3":
        from labelvault.storage_s3 import S3BlobStore

        if not settings.s3_bucket:
            raise ValueError("LABELVAULT_S3_BUCKET must be set when LABELVAULT_BLOB_STORE=s3")
        options = {"endpoint_url": settings.s3_endpoint_url, "region": settings.s3_region,
                   "access_key_id": settings.s3_access_key_id, "secret_access_key": settings.s3_secret_access_key}
        return (S3BlobStore.connect(settings.s3_bucket, prefix=f"{settings.s3_prefix}/uploads", **options),
                S3BlobStore.connect(settings.s3_bucket, prefix=f"{settings.s3_prefix}/media", **options))
    return LocalBlobStore(settings.uploads_dir), LocalBlobStore(settings.resolved_media_dir)


def build_content_cipher(settings: Settings) -> ContentCipher:
    """Envelope encryption with key-encryption keys from the key directory: always on."""
    return EnvelopeCipher(Envelope(LocalKeyProvider(settings.resolved_key_dir)))


def local_stores(settings: Settings, engine: Engine,
                 content: ContentCipher | None = None) -> tuple[sessionmaker[Session], BlobStore]:
    """A session factory that seals and opens content, and the (sealed) media store: for the app and for the
    administrative commands that act on the local database."""
    cipher = content if content is not None else build_content_cipher(settings)
    factory = bind_cipher(session_factory(engine), cipher)
    return factory, SealedBlobStore(build_blob_stores(settings)[1], factory, overhead=cipher.overhead)


def build_context(settings: Settings, *, content: ContentCipher | None = None) -> AppContext:
    """Everything an app instance holds. `content` replaces the content cipher (benchmarks compare against
    `NoCipher`); there is no setting for it."""
    engine = build_engine(settings.resolved_database_url)
    cipher = content if content is not None else build_content_cipher(settings)
    factory, media = local_stores(settings, engine, cipher)
    uploads = build_blob_stores(settings)[0]
    importer = Importer(uploads, batch_size=settings.import_batch_size, max_line=settings.max_line_bytes)
    handlers: dict[str, Handler] = {"import": importer, REFRESH_JOB: refresh_project,
                "predictions_import": PredictionImporter(uploads, max_line=settings.max_line_bytes),
                "export": ExportJob(uploads, media), "bundle": BundleJob(uploads, media)}
    runner = Runner(factory, handlers, stale_seconds=settings.job_stale_seconds,
                    poll_seconds=settings.job_poll_seconds)
    sealer = Sealer(factory, settings.data_dir, every=settings.ledger_checkpoint_entries,
                    max_age_seconds=settings.ledger_checkpoint_seconds, poll_seconds=settings.ledger_seal_seconds)
    return AppContext(settings, engine, factory, uploads, media, runner, LedgerWriter(factory), sealer, cipher)


def _wants_page(request: Request) -> bool:
    """A browser navigating to a page (not an API call) is sent to the sign-in page instead of a 401."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _error_body(code: str, message: str, details: object = None) -> dict[str, object]:
    return {"code": code, "message": message, "details": details}


# Young objects collected after this many allocations (Python's default: 700). A request allocates thousands
# of short-lived objects; collecting less often costs the same in all and reaches the full collection,
# which stops the whole process, far less often.
GC_THRESHOLDS = (10_000, 10, 10)


def settle_garbage_collector() -> None:
    """Move everything made at start-up (modules, models, routes: most of the heap) out of the collector's
    reach, so that a full collection walks only what requests made since. Without this, full collections
    stopped a serving process for hundreds of milliseconds at a time, visible as the slowest answers."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = context or build_context(settings)
    configure_logging(settings.log_level)
    settings.secret_key  # noqa: B018 - made (0600) on first start, not on first use
    load_or_create_signer(settings.data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.warm_up:
            await warm_up(app, settings.loop_threads)
        if settings.run_jobs:
            ctx.runner.start()
            ctx.sealer.start()
        yield
        ctx.runner.stop()
        ctx.sealer.stop()
        app.state.loop_workers.close()

    telemetry = settings.opentelemetry
    app = FastAPI(title="labelvault", version=__version__, lifespan=lifespan,
                  docs_url="/api/docs", redoc_url=None, openapi_url="/openapi.json",
                  telemetry={"tracing": telemetry, "metrics": telemetry, "logs": telemetry,
                             "operation_spans": telemetry})
    app.state.ctx = ctx
    app.state.loop_workers = WorkerThreads(settings.loop_threads, "labeling-loop")
    app.state.token_guesses = {}  # token digest -> (organization, person) at its last check (see api.deps.Gate)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if _wants_page(request):
            if isinstance(exc, NotAuthenticated):
                return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
            return render("error.html", {"title": "Not possible", "message": exc.message}, status=exc.status,
                          scripted=False)
        return JSONResponse(exc.to_body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(err, exc.body) for err in exc.errors()]
        first = problems[0] if problems else {"field": "", "reason": "invalid"}
        return JSONResponse(_error_body("invalid_input", f"{first['field']}: {first['reason']}",
                                        {"problems": problems}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_error_body(code, str(exc.detail)), status_code=exc.status_code)

    # Inside ObserveRequests: the loop's routes get the same metrics and headers as every other.
    app.add_middleware(Express, enabled=settings.express_routes,
                       routes=[route_of(assignments_router, next_item), route_of(annotations_router, save_annotation)])
    app.add_middleware(ObserveRequests)

    # Routes are matched in order: the labeling loop's (next item, submit) come first.
    routers = (assignments_router, annotations_router, ops_router, accounts_router, projects_router, items_router,
               review_router, exports_router, format_exports_router, predictions_router, jobs_router,
               quality_router, ledger_router, workforce_router, invitations_page, account_pages, home_page,
               labeling_page, review_pages, manager_pages, overview_page, workforce_pages)
    for router in routers:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _problem(error: Any, body: Any) -> dict[str, str]:
    """One problem of a request that failed validation: the field (dotted path in the body) and the reason; a
    body that is not JSON at all is reported with where the JSON breaks (line and column)."""
    if error.get("type") == "json_invalid":
        position = error["loc"][-1] if isinstance(error["loc"][-1], int) else None
        reason = (error.get("ctx") or {}).get("error") or error["msg"]
        if isinstance(body, str | bytes) and position is not None:
            text = body if isinstance(body, str) else body.decode("utf-8", "replace")
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            reason = f"{reason} (line {line}, column {column})"
        return {"field": "body", "reason": f"The body is not valid JSON: {reason}."}
    return {"field": ".".join(str(p) for p in error["loc"] if p != "body"), "reason": error["msg"]}


def serve_app() -> FastAPI:
    """The app as `labelvault serve` runs it in each server process: built from the environment's settings,
    then the garbage collector settled over what start-up made."""
    app = create_app()
    settle_garbage_collector()
    return app
