"""Managers' pages: the item browser (filters, sort, cursor paging, one item side by side with its
annotations and reviews, bulk actions). Each page is one project and one schema read; the lists come from
the paged API, so a page costs the same at a thousand items or a million.

The router also carries the other managers' pages (import, export, schema editor, members and tokens), each
in a module of its own."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelvault.api.deps import DB, CanManageItems
from labelvault.web import members, schema_editor, transfer
from labelvault.web.review import project_page

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/projects/{project_id}/items")
def item_browser(project_id: str, principal: CanManageItems, session: DB) -> HTMLResponse:
    return project_page("items.html", "Items", session, principal, project_id)


for _pages in (transfer.router, schema_editor.router, members.router):
    router.include_router(_pages)
