"""Item rules: reading, paging, deleting, and starting imports."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from labelvault.errors import Forbidden, InvalidInput, NotFound
from labelvault.items import repository as repo
from labelvault.items.foreign import FOREIGN_FORMATS
from labelvault.items.models import Item, ItemDeletion, ItemState
from labelvault.items.readers import FORMATS
from labelvault.items.repository import SORTS
from labelvault.items.repository import ItemFilter as ItemFilter  # the filter the routes build
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job
from labelvault.kit.clock import utcnow
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.projects.service import MAX_OVERLAP
from labelvault.security.policy import Action, Principal, allowed
from labelvault.workforce import service as workforce
from labelvault.workforce import visibility
from labelvault.workforce.visibility import ItemView

IMPORT_JOB = "import"
CONFLICT_MODES = ("skip", "update")
MAX_SEARCH = 200


def get_item(session: Session, principal: Principal, item_id: str) -> Item:
    """The item, if the principal may see it: a vendor's people see only items routed to their vendor
    (any other answers as a missing one)."""
    return _seen(session, principal, repo.item(session, principal.organization_id, item_id))


def visible(session: Session, principal: Principal, item: Item | None) -> Item:
    """The item, if the principal may see it; else NotFound (as for a missing one)."""
    return _seen(session, principal, item)


def _seen(session: Session, principal: Principal, item: Item | None) -> Item:
    if item is None or not workforce.may_see_pool(session, principal, item.pool):
        raise NotFound("item")
    return item


def view_of(session: Session, principal: Principal, project: Project, item: Item) -> ItemView | None:
    """What of the item a vendor's person is shown (fields, metadata, redaction); None for the organization's
    own people, who see all of it."""
    if principal.vendor_id is None:
        return None
    schema = projects.current_label_schema(session, project)
    return visibility.view_item(principal, schema, item.data, item.meta)


def media_shown(session: Session, principal: Principal, project: Project, item_ids: list[str], path: str) -> bool:
    """Whether one of these items shows the media file `path` to the principal (in a field they may see)."""
    schema = projects.current_label_schema(session, project)
    images = {f.name for f in schema.fields if f.kind == "image"}
    for item_id in dict.fromkeys(item_ids):
        item = repo.item(session, principal.organization_id, item_id)
        if item is None or item.project_id != project.id:
            continue
        view = visibility.view_item(principal, schema, item.data, item.meta)
        if any(view.data.get(name) == path for name in images):
            return True
    return False


def shown_fields(item: Item, view: ItemView | None) -> list[str]:
    """The data fields a reader was shown (what the ledger records)."""
    return sorted(view.data if view is not None else item.data)


def list_items(
    session: Session, principal: Principal, project: Project, *, after: list[Any] | None, limit: int,
    filters: ItemFilter,
) -> list[Item]:
    """A page of the project's items. Filtering by someone else's annotations or reviews reveals their work,
    so it takes the right to read every annotation."""
    if filters.state is not None and filters.state not in ItemState.all:
        raise InvalidInput(f"state must be one of {list(ItemState.all)}.", details={"field": "state"})
    if filters.sort not in SORTS:
        raise InvalidInput(f"sort must be one of {list(SORTS)}.", details={"field": "sort"})
    others = {filters.annotator_id, filters.reviewer_id} - {None, principal.user_id}
    if others and not allowed(principal, Action.read_all_annotations):
        raise Forbidden("Only reviewers and managers filter by other people's work.",
                        details={"field": "annotator" if filters.annotator_id in others else "reviewer"})
    if principal.vendor_id is not None:
        if filters.text is not None or filters.metadata:
            # Searching content or metadata would reveal fields not shown to the vendor.
            raise Forbidden("A vendor's people do not search item content or metadata.",
                            details={"field": "q" if filters.text is not None else "meta"})
        filters = replace(filters, vendor_id=principal.vendor_id)
    elif project.routed:
        teams = workforce.team_scope(session, principal)
        if teams is not None:
            filters = replace(filters, team_ids=teams)
    if filters.text is not None and not 1 <= len(filters.text) <= MAX_SEARCH:
        raise InvalidInput(f"q must have 1 to {MAX_SEARCH} characters.", details={"field": "q"})
    expected = (int, str) if filters.sort == "priority" else (str,)
    if after is not None and (len(after) != len(expected)
                              or not all(type(v) is t for v, t in zip(after, expected, strict=True))):
        raise InvalidInput("The cursor does not belong to this sort order; start again without it.",
                           details={"field": "cursor"})
    return list(repo.items_page(session, principal.organization_id, project.id, after=after, limit=limit,
                                filters=filters))


def next_cursor_of(page: list[Item], limit: int, sort: str) -> list[Any] | None:
    """The position after the last item of a full page; None after the last page."""
    return list(repo.page_position(page[-1], sort)) if len(page) == limit else None


MAX_BULK = 1000
BULK_ACTIONS = ("requeue", "set_overlap", "delete")


def items_for_bulk(session: Session, principal: Principal, project: Project, item_ids: list[str]) -> list[Item]:
    """The project's items among `item_ids` (others, or unknown ones, are left out: the caller reports them)."""
    if not 1 <= len(item_ids) <= MAX_BULK:
        raise InvalidInput(f"Name 1 to {MAX_BULK} items at a time.", details={"field": "item_ids"})
    return list(repo.items_of_project(session, principal.organization_id, project.id, sorted(set(item_ids))))


def set_overlap(session: Session, items: list[Item], overlap: int) -> None:
    """Raise (or lower) the overlap of items; raised ones go back to the queue. No annotation is deleted."""
    if not 1 <= overlap <= MAX_OVERLAP:
        raise InvalidInput(f"overlap must be between 1 and {MAX_OVERLAP}.", details={"field": "overlap"})
    repo.set_overlap(session, [item.id for item in items], overlap)
    session.flush()


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


def adapt_overlap(session: Session, project: Project, *, more: list[str], enough: list[str],
                  max_overlap: int, min_annotations: int = 2) -> dict[str, int]:
    """Adaptive overlap: ask for one more annotation of each completed item of `more` (up to `max_overlap`),
    and close each open item of `enough` at the annotations it has (at least `min_annotations`).

    Each change is one guarded UPDATE, so an item that was claimed, leased or reviewed meanwhile is left alone.
    """
    raised = repo.reopen_for_more(session, project.organization_id, project.id, more, max_overlap) if more else 0
    closed = repo.close_early(session, project.organization_id, project.id, enough, min_annotations) if enough else 0
    return {"overlap_raised": raised, "closed_early": closed}


def items_by_external_id(
    session: Session, organization_id: str, project_id: str, external_ids: list[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """external_id -> (item id, data) of the project's items among `external_ids` (for jobs of the project)."""
    return repo.items_by_external_id(session, organization_id, project_id, external_ids)
