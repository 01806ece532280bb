"""Item rules: reading, paging, deleting, and starting imports."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from labelvault.errors import InvalidInput, NotFound
from labelvault.items import repository as repo
from labelvault.items.foreign import FOREIGN_FORMATS
from labelvault.items.models import Item, ItemDeletion, ItemState
from labelvault.items.readers import FORMATS
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job
from labelvault.kit.clock import utcnow
from labelvault.projects.models import Project
from labelvault.security.policy import Principal

IMPORT_JOB = "import"
CONFLICT_MODES = ("skip", "update")


def get_item(session: Session, principal: Principal, item_id: str) -> Item:
    item = repo.item(session, principal.organization_id, item_id)
    if item is None:
        raise NotFound("item")
    return item


def list_items(
    session: Session, principal: Principal, project: Project, *, after: str | None, limit: int,
    state: str | None,
) -> list[Item]:
    if state is not None and state not in ItemState.all:
        raise InvalidInput(f"state must be one of {list(ItemState.all)}.", details={"field": "state"})
    return list(repo.items_page(session, principal.organization_id, project.id, after=after, limit=limit,
                                state=state))


def delete_item(session: Session, principal: Principal, item: Item, *, confirm: bool) -> ItemDeletion:
    """Delete an item with its annotations; recorded with who and when."""
    if not confirm:
        raise InvalidInput(
            "Deleting an item also deletes its annotations; repeat with confirm=true.",
            details={"field": "confirm"},
        )
    deletion = ItemDeletion(
        organization_id=item.organization_id, project_id=item.project_id, item_id=item.id,
        external_id=item.external_id, annotation_count=item.annotation_count,
        deleted_by_id=principal.user_id, deleted_at=utcnow(),
    )
    repo.add_deletion(session, deletion)
    repo.delete_item(session, item.id)
    session.flush()
    return deletion


def check_import_options(fmt: str, on_conflict: str) -> None:
    if fmt not in FORMATS and fmt not in FOREIGN_FORMATS:
        raise InvalidInput(f"format must be one of {list(FORMATS)} or another tool's: {list(FOREIGN_FORMATS)}.",
                           details={"field": "format"})
    if on_conflict not in CONFLICT_MODES:
        raise InvalidInput(f"on_conflict must be one of {list(CONFLICT_MODES)}.",
                           details={"field": "on_conflict"})


def start_import(
    session: Session, principal: Principal, project: Project, *, job_id: str, blob_key: str, size: int,
    fmt: str, on_conflict: str, all_or_nothing: bool, filename: str,
) -> Job:
    """Queue an import of an uploaded file; the job reports progress and every rejected line."""
    check_import_options(fmt, on_conflict)
    params: dict[str, Any] = {
        "blob": blob_key, "format": fmt, "on_conflict": on_conflict, "all_or_nothing": all_or_nothing,
        "filename": filename, "project_id": project.id,
    }
    return jobs.create_job(session, principal, IMPORT_JOB, params, project_id=project.id, total=size,
                           job_id=job_id)


def state_counts(session: Session, project: Project) -> dict[str, int]:
    counts = repo.state_counts(session, project.organization_id, project.id)
    return {state: counts.get(state, 0) for state in ItemState.all}


def items_by_external_id(
    session: Session, organization_id: str, project_id: str, external_ids: list[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """external_id -> (item id, data) of the project's items among `external_ids` (for jobs of the project)."""
    return repo.items_by_external_id(session, organization_id, project_id, external_ids)
