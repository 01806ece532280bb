"""HTTP routes of format exports: list formats, start an export job, download its file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from labelvault.api.deps import DB, CanExport, CanReadProject, Ctx, after_commit
from labelvault.errors import NotFound
from labelvault.exports import service
from labelvault.exports.records import ExportOptions
from labelvault.exports.schemas import ExportRequest, FormatOut
from labelvault.jobs.schemas import JobOut
from labelvault.ledger.recording import Recorder
from labelvault.projects import service as projects

router = APIRouter(prefix="/api/v1", tags=["exports"])
CHUNK = 1 << 20


@router.get("/export-formats", response_model=list[FormatOut])
def export_formats(principal: CanReadProject) -> list[FormatOut]:
    """The formats a project can be exported in (and which of them can be imported)."""
    return [FormatOut(**f) for f in service.formats()]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


@router.post("/projects/{project_id}/exports", response_model=JobOut, status_code=202)
def start_export(project_id: str, body: ExportRequest, request: Request, principal: CanExport, session: DB,
                 ctx: Ctx) -> JobOut:
    """Queue an export in a format; poll GET /jobs/{id}, then download GET /exports/{id}/file."""
    project = projects.get_project(session, principal, project_id)
    options = ExportOptions(states=body.states, only_accepted=body.only_accepted, split=body.split,
                            since=_utc(body.since), until=_utc(body.until), include_drafts=body.include_drafts,
                            only_annotated=body.only_annotated, predictions=body.predictions,
                            aggregated=body.aggregated, include_gold=body.include_gold)
    job = service.start_export(session, principal, project, body.format, options)
    after_commit(request, ctx.runner.wake)
    return JobOut.model_validate(job)


@router.post("/projects/{project_id}/bundles", response_model=JobOut, status_code=202)
def start_bundle(project_id: str, request: Request, principal: CanExport, session: DB, ctx: Ctx) -> JobOut:
    """Queue the project's exit bundle (.tar.zst with a SHA-256 manifest); download it from GET /exports/{id}/file."""
    project = projects.get_project(session, principal, project_id)
    job = service.start_bundle(session, principal, project)
    after_commit(request, ctx.runner.wake)
    return JobOut.model_validate(job)


@router.get("/exports/{job_id}/file", response_class=StreamingResponse)
def download_export(job_id: str, principal: CanExport, session: DB, ctx: Ctx,
                    ledger: Recorder) -> StreamingResponse:
    """The file of a finished export or bundle."""
    job = service.export_job(session, principal, job_id)
    key = service.blob_key(job)
    if not ctx.uploads.exists(key):
        raise NotFound("export file")
    # The content leaves with the download: that is the access the ledger records.
    ledger.export(principal, job.project_id or "", {"job": job.id, "kind": job.kind,
                                                    "filename": (job.stats or {}).get("filename", "")})
    handle = ctx.uploads.open_read(key)

    def body() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    stats = job.stats or {}
    return StreamingResponse(body(), media_type=stats.get("media_type", "application/octet-stream"), headers={
        "Content-Disposition": f'attachment; filename="{stats.get("filename", job.id)}"',
        "Content-Length": str(ctx.uploads.size(key))})
