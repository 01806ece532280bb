"""The organization's members and API tokens. Members are listed (one joined query) to managers, who may
invite; owners also change roles and remove. Tokens: everyone's for owners, one's own for managers.
Every change goes through the accounts API from the page's script."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from labelvault.accounts import service as accounts
from labelvault.accounts.models import Role
from labelvault.api.deps import DB, CanReadMembers
from labelvault.security.policy import Action, Scope, allowed
from labelvault.web.frame import render, viewer

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/members")
def members_page(principal: CanReadMembers, session: DB) -> HTMLResponse:
    manages = allowed(principal, Action.manage_members)
    all_tokens = allowed(principal, Action.manage_all_tokens)
    members = accounts.list_members(session, principal)
    tokens = accounts.list_tokens(session, principal, all_users=all_tokens)
    names = {user.id: user.name or user.email for _, user in members}
    config: dict[str, Any] = {"userId": principal.user_id, "manages": manages}
    return render("members.html", {
        "title": "Members and tokens", "viewer": viewer(session, principal), "config": config,
        "members": members, "tokens": tokens, "names": names, "manages": manages, "all_tokens": all_tokens,
        "roles": [role.value for role in Role], "scopes": [scope.value for scope in Scope],
        "me": principal.user_id,
    })
