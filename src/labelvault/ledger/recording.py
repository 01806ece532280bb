"""The route-side hook: `Recorder`, a dependency that writes what a route shows into the ledger.

A route that writes anyway (POST next item) adds the entry to its own transaction, so the entry commits
with the access; a read-only route writes it (group-committed) before it returns its answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request

from labelvault.api.deps import DB, SAFE_METHODS, context
from labelvault.ledger.models import EntryKind
from labelvault.ledger.service import Access, entry_for
from labelvault.security.policy import Principal


class AccessRecorder:
    def __init__(self, request: Request, session: DB) -> None:
        self.request = request
        self.session = session

    @property
    def route(self) -> str:
        template = getattr(self.request.scope.get("route"), "path", None)  # (the URL is built only without one)
        return f"{self.request.method} {template or self.request.url.path}"

    def items(self, principal: Principal, project_id: str, items: Sequence[Any],
              fields: Iterable[str] | None = None, kind: str = EntryKind.read) -> None:
        """Record that `items` (objects with `id` and `data`) were shown; fields default to their data keys."""
        shown = set(fields) if fields is not None else {key for item in items for key in item.data}
        self.ids(principal, project_id, [item.id for item in items], sorted(shown), kind)

    def ids(self, principal: Principal, project_id: str, item_ids: Sequence[str], fields: Sequence[str],
            kind: str = EntryKind.read) -> None:
        self.access(principal, principal.organization_id, Access(kind, self.route, project_id, item_ids, fields))

    def export(self, principal: Principal, project_id: str, detail: dict[str, Any]) -> None:
        self.access(principal, principal.organization_id,
                    Access(EntryKind.export, self.route, project_id, (), ("*",), detail))

    def permission(self, principal: Principal | None, organization_id: str, detail: dict[str, Any], *,
                   actor_user_id: str | None = None, actor_email: str = "") -> None:
        self.access(principal, organization_id, Access(EntryKind.permission, self.route, detail=detail),
                    actor_user_id=actor_user_id, actor_email=actor_email)

    def access(self, principal: Principal | None, organization_id: str, access: Access, **actor: Any) -> None:
        entry = entry_for(principal, organization_id, access, **actor)
        ledger = context(self.request).ledger
        if self.request.method in SAFE_METHODS:
            ledger.write([entry])
        else:
            ledger.add(self.session, [entry])


async def _recorder(request: Request, session: DB) -> AccessRecorder:
    # A coroutine: FastAPI would run a class or plain function dependency on a worker thread.
    return AccessRecorder(request, session)


Recorder = Annotated[AccessRecorder, Depends(_recorder)]
