"""create_app(settings): wires routers, error handlers, middleware, the job worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from labelvault import __version__
from labelvault.accounts.api import router as accounts_router
from labelvault.annotations.api import router as annotations_router
from labelvault.annotations.review_api import router as review_router
from labelvault.api.context import AppContext
from labelvault.assignments.api import router as assignments_router
from labelvault.config import Settings
from labelvault.db.engine import build_engine, session_factory
from labelvault.errors import DomainError
from labelvault.exports.api import router as exports_router
from labelvault.items.api import router as items_router
from labelvault.items.importer import Importer
from labelvault.jobs.api import router as jobs_router
from labelvault.jobs.runner import Runner
from labelvault.ledger.api import router as ledger_router
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.writer import LedgerWriter, Sealer
from labelvault.ops.api import router as ops_router
from labelvault.ops.logging import configure_logging
from labelvault.ops.observe import ObserveRequests
from labelvault.projects.api import router as projects_router
from labelvault.storage import BlobStore, LocalBlobStore
from labelvault.web.invitations import router as invitations_page


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


def build_context(settings: Settings) -> AppContext:
    engine = build_engine(settings.resolved_database_url)
    factory = session_factory(engine)
    uploads, media = build_blob_stores(settings)
    importer = Importer(uploads, batch_size=settings.import_batch_size, max_line=settings.max_line_bytes)
    runner = Runner(factory, {"import": importer}, stale_seconds=settings.job_stale_seconds,
                    poll_seconds=settings.job_poll_seconds)
    sealer = Sealer(factory, settings.data_dir, every=settings.ledger_checkpoint_entries,
                    max_age_seconds=settings.ledger_checkpoint_seconds, poll_seconds=settings.ledger_seal_seconds)
    return AppContext(settings, engine, factory, uploads, media, runner, LedgerWriter(factory), sealer)


def _error_body(code: str, message: str, details: object = None) -> dict[str, object]:
    return {"code": code, "message": message, "details": details}


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = context or build_context(settings)
    configure_logging(settings.log_level)
    settings.secret_key  # noqa: B018 - made (0600) on first start, not on first use
    load_or_create_signer(settings.data_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_jobs:
            ctx.runner.start()
            ctx.sealer.start()
        yield
        ctx.runner.stop()
        ctx.sealer.stop()

    app = FastAPI(title="labelvault", version=__version__, lifespan=lifespan,
                  docs_url="/api/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.ctx = ctx

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.to_body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in err["loc"] if p != "body"), "reason": err["msg"]}
                    for err in exc.errors()]
        first = problems[0] if problems else {"field": "", "reason": "invalid"}
        return JSONResponse(_error_body("invalid_input", f"{first['field']}: {first['reason']}",
                                        {"problems": problems}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_error_body(code, str(exc.detail)), status_code=exc.status_code)

    app.add_middleware(ObserveRequests)

    routers = (ops_router, accounts_router, projects_router, items_router, annotations_router, assignments_router,
               review_router, exports_router, jobs_router, ledger_router, invitations_page)
    for router in routers:
        app.include_router(router)
    return app
