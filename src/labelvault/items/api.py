"""HTTP routes of the items domain: list, read, delete, import, media."""

from __future__ import annotations

import datetime as dt
import mimetypes

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from labelvault.annotations import review
from labelvault.annotations import service as annotations_service
from labelvault.api.deps import DB, CanManageItems, CanReadItems, Ctx, after_commit
from labelvault.api.paging import Page, page_size
from labelvault.api.upload import receive_body
from labelvault.assignments import service as assignments
from labelvault.crypto.media import media_within
from labelvault.errors import InvalidInput, NotFound
from labelvault.items import service
from labelvault.items.readers import guess_format
from labelvault.items.schemas import BulkIn, BulkOut, ItemDeletionOut, ItemOut, MediaOut
from labelvault.items.service import ItemFilter
from labelvault.jobs.schemas import JobOut
from labelvault.kit.ids import new_id
from labelvault.kit.pagination import decode_cursor, encode_cursor
from labelvault.ledger.recording import Recorder
from labelvault.projects import service as projects
from labelvault.storage import RESERVED_MEDIA, safe_key

router = APIRouter(prefix="/api/v1", tags=["items"])


@router.get("/projects/{project_id}/items", response_model=Page[ItemOut])
def list_items(
    project_id: str, principal: CanReadItems, session: DB, ctx: Ctx, ledger: Recorder, cursor: str | None = None,
    limit: int | None = None, state: str | None = None,
    annotator: str | None = Query(default=None, description="Items this user annotated (a user id)."),
    reviewer: str | None = Query(default=None, description="Items this user reviewed (a user id)."),
    updated_after: dt.datetime | None = Query(default=None, description="Last changed at or after (ISO 8601)."),
    updated_before: dt.datetime | None = Query(default=None, description="Last changed before (ISO 8601)."),
    meta: list[str] = Query(default=[], description="Metadata `key:value`, compared as text; repeat for more."),
    q: str | None = Query(default=None, description="Text in the external id or the metadata (any case); "
                                                   "item data is encrypted and not searched."),
    sort: str = Query(default="id", description="`id` (import order), `-id` (newest first) or `priority` "
                                                "(highest first, then newest)."),
) -> Page[ItemOut]:
    """The project's items, filtered and sorted, a page at a time (follow `next_cursor`)."""
    project = projects.get_project(session, principal, project_id)
    size = page_size(ctx.settings, limit)
    filters = ItemFilter(state=state, annotator_id=annotator, reviewer_id=reviewer,
                         updated_after=_utc(updated_after), updated_before=_utc(updated_before),
                         metadata=_metadata_filter(meta), text=q, sort=sort)
    rows = service.list_items(session, principal, project, after=decode_cursor(cursor), limit=size, filters=filters)
    views = [service.view_of(session, principal, project, i) for i in rows]
    ledger.items(principal, project.id, rows,
                 fields=sorted({f for i, v in zip(rows, views, strict=True) for f in service.shown_fields(i, v)}))
    position = service.next_cursor_of(rows, size, sort)
    return Page[ItemOut](items=[ItemOut.of(i, v) for i, v in zip(rows, views, strict=True)],
                         next_cursor=encode_cursor(*position) if position is not None else None)


def _metadata_filter(pairs: list[str]) -> dict[str, str]:
    wanted: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if not sep or not key:
            raise InvalidInput(f"meta must look like key:value, not {pair!r}.", details={"field": "meta"})
        wanted[key] = value
    return wanted


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


@router.post("/projects/{project_id}/items/bulk", response_model=BulkOut)
def bulk_action(project_id: str, body: BulkIn, principal: CanManageItems, session: DB) -> BulkOut:
    """Re-queue, set the overlap of, or delete up to 1,000 items of the project at once."""
    project = projects.get_project(session, principal, project_id)
    found = service.items_for_bulk(session, principal, project, body.item_ids)
    done = [item.id for item in found]
    released = 0
    if body.action == "requeue":
        released = assignments.release_items(session, principal.organization_id, done)
    elif body.action == "set_overlap":
        if body.overlap is None:
            raise InvalidInput("Say which overlap the items get.", details={"field": "overlap"})
        service.set_overlap(session, found, body.overlap)
        annotations_service.refresh_review_states(session, done)
    else:
        if not body.confirm:
            raise InvalidInput(f"Deleting {len(done)} items also deletes their annotations; repeat with "
                               "confirm: true.", details={"field": "confirm"})
        for item in found:
            service.delete_item(session, principal, item, confirm=True)
    return BulkOut(action=body.action, done=done, not_found=sorted(set(body.item_ids) - set(done)),
                   leases_released=released)


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(item_id: str, principal: CanReadItems, session: DB, ledger: Recorder) -> ItemOut:
    item = service.get_item(session, principal, item_id)
    view = None
    if principal.vendor_id is not None:
        view = service.view_of(session, principal, projects.get_project(session, principal, item.project_id), item)
    ledger.items(principal, item.project_id, [item], fields=service.shown_fields(item, view))
    return ItemOut.of(item, view)


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
    key = safe_key(path)
    if key.split("/", 1)[0] == RESERVED_MEDIA:
        raise InvalidInput(f"Media paths may not start with {RESERVED_MEDIA}/.", details={"field": "path"})
    return f"{organization_id}/{project_id}/{key}"


@router.put("/projects/{project_id}/media/{path:path}", response_model=MediaOut, status_code=201)
async def upload_media(project_id: str, path: str, request: Request, principal: CanManageItems, session: DB,
                       ctx: Ctx) -> MediaOut:
    """Store a file (e.g. an image) in the project's media store; items refer to it by `path`."""
    project = projects.get_project(session, principal, project_id)
    size = await receive_body(request, media_within(ctx.media, session),
                              _media_key(project.organization_id, project.id, path),
                              ctx.settings.max_media_bytes)
    return MediaOut(path=safe_key(path), size=size)


@router.get("/projects/{project_id}/media/{path:path}")
def get_media(project_id: str, path: str, principal: CanReadItems, session: DB, ctx: Ctx,
              ledger: Recorder) -> Response:
    project = projects.get_project(session, principal, project_id)
    key = _media_key(project.organization_id, project.id, path)
    if principal.vendor_id is not None:
        # A vendor's people get a file only as part of an item they hold or must fix, in a field shown to them.
        held = [*assignments.held_item_ids(session, principal, project),
                *(a.item_id for a in review.returned_to(session, principal, project))]
        if not service.media_shown(session, principal, project, held, path):
            raise NotFound("media file")
    if not ctx.media.exists(key):
        raise NotFound("media file")
    ledger.items(principal, project.id, [], fields=[f"media:{safe_key(path)}"])
    with media_within(ctx.media, session).open_read(key) as handle:
        content = handle.read()
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return Response(content, media_type=media_type, headers={"X-Content-Type-Options": "nosniff",
                                                              "Content-Security-Policy": "default-src 'none'"})
