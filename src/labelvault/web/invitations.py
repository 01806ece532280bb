"""The page behind an invitation link: choose a password and join (no script, strict CSP)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse

from labelvault.accounts import service
from labelvault.api.deps import DB, public
from labelvault.errors import DomainError

router = APIRouter(tags=["pages"], include_in_schema=False)

CSP = "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
STYLE = ("body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem;color:#1a1a1a}"
         "label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;font:inherit}"
         "button{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit}.error{color:#a00000}")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)} · labelvault</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{STYLE}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP,
                                                          "Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _form(error: str = "") -> str:
    message = f"<p class=error role=alert>{escape(error)}</p>" if error else ""
    return (f"{message}<form method=post><label>Your name<input name=name autocomplete=name></label>"
            "<label>Password (at least 12 characters)<input name=password type=password required minlength=12 "
            "autocomplete=new-password></label><button type=submit>Join</button></form>")


@router.get("/invite/{secret}", dependencies=[Depends(public("the invitation secret is the credential"))])
def invitation_page(secret: str) -> HTMLResponse:
    return _page("Join labelvault", "<p>You were invited to an organization on labelvault.</p>" + _form())


@router.post("/invite/{secret}", dependencies=[Depends(public("the invitation secret is the credential"))])
def accept_invitation_page(secret: str, session: DB, password: Annotated[str, Form()],
                           name: Annotated[str, Form()] = "") -> HTMLResponse:
    try:
        member = service.accept_invitation(session, secret, password, name)
    except DomainError as exc:
        session.rollback()
        status = exc.status
        text = "This invitation link is used, expired or unknown." if exc.status == 404 else exc.message
        return _page("Join labelvault", _form(text), status=status)
    return _page("Welcome", f"<p>You joined as <strong>{escape(member.role.value)}</strong>. "
                            "You can now sign in.</p>")
