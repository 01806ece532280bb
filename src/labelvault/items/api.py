"""HTTP routes of the items domain: list, read, delete, import, media."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from labelvault.api.deps import DB, CanManageItems, CanReadItems, Ctx, after_commit
from labelvault.api.paging import Page, page_size
from labelvault.api.upload import receive_body
from labelvault.errors import InvalidInput, NotFound
from labelvault.items import service
from labelvault.items.readers import guess_format
from labelvault.items.schemas import ItemDeletionOut, ItemOut, MediaOut
from labelvault.jobs.schemas import JobOut
from labelvault.kit.ids import new_id
from labelvault.kit.pagination import decode_cursor, encode_cursor
from labelvault.ledger.recording import Recorder
from labelvault.projects import service as projects
from labelvault.storage import safe_key

router = APIRouter(prefix="/api/v1", tags=["items"])


@router.get("/projects/{project_id}/items", response_model=Page[ItemOut])
def list_items(project_id: str, principal: CanReadItems, session: DB, ctx: Ctx, ledger: Recorder,
               cursor: str | None = None,
               limit: int | None = None, state: str | None = None) -> Page[ItemOut]:
    project = projects.get_project(session, principal, project_id)
    size = page_size(ctx.settings, limit)
    after = decode_cursor(cursor)
    if after is not None and (len(after) != 1 or not isinstance(after[0], str)):
        raise InvalidInput("The cursor is not valid; use the `next_cursor` of a previous page.",
                           details={"field": "cursor"})
    rows = service.list_items(session, principal, project, after=str(after[0]) if after else None, limit=size,
                              state=state)
    ledger.items(principal, project.id, rows)
    next_cursor = encode_cursor(rows[-1].id) if len(rows) == size else None
    return Page[ItemOut](items=[ItemOut.model_validate(i) for i in rows], next_cursor=next_cursor)


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(item_id: str, principal: CanReadItems, session: DB, ledger: Recorder) -> ItemOut:
    item = service.get_item(session, principal, item_id)
    ledger.items(principal, item.project_id, [item])
    return ItemOut.model_validate(item)


@router.delete("/items/{item_id}", response_model=ItemDeletionOut)
def delete_item(item_id: str, principal: CanManageItems, session: DB, confirm: bool = False) -> ItemDeletionOut:
    item = service.get_item(session, principal, item_id)
    return ItemDeletionOut.model_validate(service.delete_item(session, principal, item, confirm=confirm))


@router.post("/projects/{project_id}/imports", response_model=JobOut, status_code=202)
async def start_import(
    project_id: str, request: Request, principal: CanManageItems, session: DB, ctx: Ctx,
    filename: str = Query(default="upload.jsonl", max_length=300),
    format: str | None = Query(default=None, description="jsonl, json or csv; guessed from the filename."),
    on_conflict: str = Query(default="skip", description="For an existing external_id: skip or update."),
    all_or_nothing: bool = Query(default=False, description="Import nothing when any line is bad."),
) -> JobOut:
    """Upload a file (the raw request body) and queue its import; poll the job for progress and problems."""
    project = projects.get_project(session, principal, project_id)
    fmt = format or guess_format(filename)
    if fmt is None:
        raise InvalidInput("Name the format (jsonl, json or csv); it cannot be guessed from the filename.",
                           details={"field": "format"})
    service.check_import_options(fmt, on_conflict)
    job_id = new_id()
    key = f"imports/{job_id}"
    size = await receive_body(request, ctx.uploads, key, ctx.settings.max_import_bytes)
    job = service.start_import(
        session, principal, project, job_id=job_id, blob_key=key, size=size, fmt=fmt,
        on_conflict=on_conflict, all_or_nothing=all_or_nothing, filename=filename,
    )
    after_commit(request, ctx.runner.wake)
    return JobOut.model_validate(job)


def _media_key(organization_id: str, project_id: str, path: str) -> str:
    return f"{organization_id}/{project_id}/{safe_key(path)}"


@router.put("/projects/{project_id}/media/{path:path}", response_model=MediaOut, status_code=201)
async def upload_media(project_id: str, path: str, request: Request, principal: CanManageItems, session: DB,
                       ctx: Ctx) -> MediaOut:
    """Store a file (e.g. an image) in the project's media store; items refer to it by `path`."""
    project = projects.get_project(session, principal, project_id)
    size = await receive_body(request, ctx.media, _media_key(project.organization_id, project.id, path),
                              ctx.settings.max_media_bytes)
    return MediaOut(path=safe_key(path), size=size)


@router.get("/projects/{project_id}/media/{path:path}")
def get_media(project_id: str, path: str, principal: CanReadItems, session: DB, ctx: Ctx,
              ledger: Recorder) -> Response:
    project = projects.get_project(session, principal, project_id)
    key = _media_key(project.organization_id, project.id, path)
    if not ctx.media.exists(key):
        raise NotFound("media file")
    ledger.items(principal, project.id, [], fields=[f"media:{safe_key(path)}"])
    with ctx.media.open_read(key) as handle:
        content = handle.read()
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return Response(content, media_type=media_type, headers={"X-Content-Type-Options": "nosniff",
                                                              "Content-Security-Policy": "default-src 'none'"})
