"""Sign-in and password pages. Sign-out and the password change itself go through the API from the page's
script, with the session's CSRF token; the sign-in form is refused when another site sends it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from labelvault.accounts import service as accounts
from labelvault.api.deps import DB, SESSION_COOKIE, CanReadSelf, Ctx, public
from labelvault.errors import DomainError
from labelvault.web.frame import check_same_origin, render, safe_next, viewer

router = APIRouter(tags=["pages"], include_in_schema=False)
SIGN_IN = public("the sign-in form is the way in")


@router.get("/sign-in", dependencies=[Depends(SIGN_IN)])
def sign_in_page(next: Annotated[str, Query(max_length=500)] = "/") -> HTMLResponse:
    return render("sign_in.html", {"title": "Sign in", "next": safe_next(next), "email": ""}, scripted=False)


@router.post("/sign-in", dependencies=[Depends(SIGN_IN)])
def sign_in(request: Request, session: DB, ctx: Ctx, email: Annotated[str, Form(max_length=320)],
            password: Annotated[str, Form(max_length=1000)],
            next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    check_same_origin(request)
    try:
        user = accounts.authenticate_password(session, email, password)
    except DomainError as exc:
        return render("sign_in.html", {"title": "Sign in", "next": safe_next(next), "email": email,
                                       "error": exc.message}, status=exc.status, scripted=False)
    started = accounts.start_session(session, user, dt.timedelta(hours=ctx.settings.session_ttl_hours))
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, started.secret, httponly=True, samesite="strict",
                        secure=ctx.settings.secure_cookies or request.url.scheme == "https",
                        max_age=ctx.settings.session_ttl_hours * 3600, path="/")
    return response


@router.get("/account/password")
def password_page(principal: CanReadSelf, session: DB) -> HTMLResponse:
    return render("password.html", {"title": "Change your password", "viewer": viewer(session, principal)})
