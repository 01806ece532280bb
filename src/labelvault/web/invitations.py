"""The page behind an invitation link: choose a password and join (no script, strict CSP)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from labelvault.accounts import service
from labelvault.api.deps import DB, public
from labelvault.errors import DomainError
from labelvault.web.frame import check_same_origin, render

router = APIRouter(tags=["pages"], include_in_schema=False)
INVITATION = public("the invitation secret is the credential")


@router.get("/invite/{secret}", dependencies=[Depends(INVITATION)])
def invitation_page(secret: str) -> HTMLResponse:
    return render("invitation.html", {"title": "Join labelvault"}, scripted=False)


@router.post("/invite/{secret}", dependencies=[Depends(INVITATION)])
def accept_invitation_page(secret: str, request: Request, session: DB, password: Annotated[str, Form()],
                           name: Annotated[str, Form()] = "") -> HTMLResponse:
    try:
        check_same_origin(request)
        member = service.accept_invitation(session, secret, password, name)
    except DomainError as exc:
        session.rollback()
        text = "This invitation link is used, expired or unknown." if exc.status == 404 else exc.message
        return render("invitation.html", {"title": "Join labelvault", "error": text}, status=exc.status,
                      scripted=False)
    return render("invitation.html", {"title": "Welcome", "joined_as": member.role.value}, scripted=False)
