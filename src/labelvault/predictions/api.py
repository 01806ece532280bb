"""HTTP routes of predictions: import a file of them, read an item's."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from labelvault.annotations import service as answers
from labelvault.api.deps import DB, CanManageItems, CanReadItems, Ctx, after_commit
from labelvault.api.upload import receive_body
from labelvault.errors import InvalidInput
from labelvault.items import service as items
from labelvault.items.readers import guess_format
from labelvault.jobs.schemas import JobOut
from labelvault.kit.ids import new_id
from labelvault.ledger.recording import Recorder
from labelvault.predictions import service
from labelvault.predictions.schemas import PredictionOut
from labelvault.projects import service as projects

router = APIRouter(prefix="/api/v1", tags=["predictions"])


@router.post("/projects/{project_id}/predictions/imports", response_model=JobOut, status_code=202)
async def start_prediction_import(
    project_id: str, request: Request, principal: CanManageItems, session: DB, ctx: Ctx,
    filename: str = Query(default="predictions.jsonl", max_length=300),
    format: str | None = Query(default=None, description="jsonl or json; guessed from the filename."),
    all_or_nothing: bool = Query(default=False, description="Store nothing when any line is bad."),
) -> JobOut:
    """Upload predictions (one `{external_id, model_name, model_version, answers, score}` per line) as a job."""
    project = projects.get_project(session, principal, project_id)
    fmt = format or guess_format(filename)
    if fmt not in service.FORMATS:
        raise InvalidInput(f"format must be one of {list(service.FORMATS)}.", details={"field": "format"})
    job_id = new_id()
    key = f"imports/{job_id}"
    size = await receive_body(request, ctx.uploads, key, ctx.settings.max_import_bytes)
    job = service.start_import(session, principal, project, job_id=job_id, blob_key=key, size=size, fmt=fmt,
                               all_or_nothing=all_or_nothing, filename=filename)
    after_commit(request, ctx.runner.wake)
    return JobOut.model_validate(job)


@router.get("/items/{item_id}/predictions", response_model=list[PredictionOut])
def item_predictions(item_id: str, principal: CanReadItems, session: DB, ledger: Recorder) -> list[PredictionOut]:
    """A model's pre-labels for the item, by model name and version."""
    item = items.get_item(session, principal, item_id)
    ledger.ids(principal, item.project_id, [item.id], ["predictions"])
    shown = [PredictionOut.model_validate(p) for p in service.item_predictions(session, principal, item)]
    if principal.vendor_id is not None:  # on the vendor's view of the item: redacted offsets, hidden fields out
        project = projects.get_project(session, principal, item.project_id)
        view = items.view_of(session, principal, project, item)
        for prediction in shown:
            prediction.answers = answers.answers_shown(session, principal, project, view, prediction.answers)
    return shown
