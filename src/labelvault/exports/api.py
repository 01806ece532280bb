"""HTTP route of exports: a streamed full-fidelity JSONL download."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Generator, Iterator
from queue import Full, Queue
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from labelvault.api.deps import DB, CanExport, Ctx
from labelvault.errors import InvalidInput
from labelvault.exports.jsonl import ExportFilter, stream_jsonl
from labelvault.exports.records import aggregated_jsonl, gold_item_ids
from labelvault.ledger.recording import Recorder
from labelvault.ops.metrics import EXPORTED_ANNOTATIONS, EXPORTED_ITEMS
from labelvault.projects import service as projects

router = APIRouter(prefix="/api/v1", tags=["exports"])


@router.get("/projects/{project_id}/export", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}}}})
def export_project(
    project_id: str, principal: CanExport, session: DB, ctx: Ctx, ledger: Recorder,
    format: str = Query(default="jsonl", pattern="^jsonl$"),
    state: list[str] | None = Query(default=None, description="Only items in these states."),
    since: dt.datetime | None = Query(default=None, description="Only annotations updated at or after."),
    until: dt.datetime | None = Query(default=None, description="Only annotations updated before."),
    include_drafts: bool = False,
    revisions: bool = Query(default=False, description="Include every annotation's earlier revisions."),
    only_annotated: bool = Query(default=False, description="Leave out items without matching annotations."),
    aggregated: bool = Query(default=False, description="Quality control's aggregates (value and confidence per "
                             "question) in place of the annotations."),
    include_gold: bool = Query(default=True, description="Include gold items (those with known answers)."),
) -> StreamingResponse:
    """Stream every item of the project with its annotations, one JSON object per line."""
    project = projects.get_project(session, principal, project_id)
    ledger.export(principal, project.id, {"format": format, "states": state or [], "drafts": include_drafts,
                                          **({"aggregated": True} if aggregated else {}),
                                          **({} if include_gold else {"include_gold": False})})
    filters = ExportFilter(states=state, include_drafts=include_drafts, since=_utc(since), until=_utc(until),
                           revisions=revisions, only_annotated=only_annotated)
    filters.check()
    if aggregated and revisions:
        raise InvalidInput("An export of aggregates holds no annotations, so no revisions; leave out one of them.",
                           details={"field": "revisions"})

    def body() -> Generator[bytes, None, None]:
        if aggregated:
            yield from aggregated_jsonl(ctx.factory, project.organization_id, project.id, filters, include_gold)
        else:
            yield from stream_jsonl(ctx.factory, project.organization_id, project.id, filters,
                                    leave_out=None if include_gold else gold_item_ids(
                                        ctx.factory, project.organization_id, project.id))
        EXPORTED_ITEMS.inc(filters.counters["items"])
        EXPORTED_ANNOTATIONS.inc(filters.counters["annotations"])

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return StreamingResponse(
        _made_ahead(body()), media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="project-{project.id}-{stamp}.jsonl"'},
    )


def _made_ahead(chunks: Generator[bytes, None, None], depth: int = 3) -> Iterator[bytes]:
    """The chunks, made on a thread of their own while the ones before are being sent.

    Sending a chunk waits until the client has read most of it (flow control), so chunks made on demand
    leave the client and the server idle in turn. At most `depth` chunks wait; when the client goes away
    the maker stops at its next chunk and closes the export itself, on the thread that ran it.
    """
    ready: Queue[tuple[str, Any]] = Queue(depth)
    stop = threading.Event()

    def offer(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put((kind, value), timeout=0.5)
                return True
            except Full:
                continue
        return False

    def make() -> None:
        try:
            for chunk in chunks:
                if not offer("chunk", chunk):
                    return
            offer("end", None)
        except BaseException as exc:  # noqa: BLE001 - handed to the sending side, which raises it
            offer("error", exc)
        finally:
            chunks.close()

    threading.Thread(target=make, name="export-maker", daemon=True).start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "error":
                raise value
            if kind == "end":
                return
            yield value
    finally:
        stop.set()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
