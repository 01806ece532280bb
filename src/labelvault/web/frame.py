"""The shared page frame: templates, security headers, safe Markdown and the signed-in person's page context.

Every page is rendered on the server with autoescaping; scripts are separate files under `web/static/`, so
the Content-Security-Policy allows no inline script and no origin but the app's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nh3
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from labelvault.accounts import service as accounts
from labelvault.errors import Forbidden
from labelvault.security.policy import Principal

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

# No inline script or style, no other origin; Trusted Types forbid building HTML from strings in scripts.
CSP_SCRIPTED = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                "require-trusted-types-for 'script'; trusted-types 'none'")
CSP_STATIC = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
              "base-uri 'none'")
SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin"}

_MARKDOWN_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
                  "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td"}


@lru_cache(maxsize=1)
def templates() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                       trim_blocks=True, lstrip_blocks=True)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def safe_markdown(text: str) -> str:
    """Markdown to HTML that can run nothing: raw HTML is escaped, then only plain tags and http(s)/mailto links
    survive the sanitizer (no script, no event handler, no `javascript:` URL)."""
    html = _markdown().render(text or "")
    return nh3.clean(html, tags=_MARKDOWN_TAGS, attributes={"a": {"href", "title"}, "code": {"class"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page: shown in the header; the CSRF token goes back with every API write."""

    email: str
    role: str
    csrf_token: str
    vendor: bool = False  # works for a vendor: no owner's manager pages


def viewer(session: Session, principal: Principal) -> Viewer:
    token = accounts.csrf_token_of(session, principal.session_id) if principal.session_id else ""
    return Viewer(principal.email, principal.role.value, token, principal.vendor_id is not None)


def render(name: str, context: dict[str, Any], *, status: int = 200, scripted: bool = True) -> HTMLResponse:
    """Render a page inside the frame; `scripted=False` pages get a policy that allows no script at all."""
    html = templates().get_template(name).render(**context)
    headers = {"Content-Security-Policy": CSP_SCRIPTED if scripted else CSP_STATIC, **SECURITY_HEADERS}
    return HTMLResponse(html, status_code=status, headers=headers)


def check_same_origin(request: Request) -> None:
    """Refuse a form post sent by another site (the browser names the page's origin in `Origin`)."""
    origin = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site == "cross-site" or (origin and origin != "null" and _origin_of(origin) != _own_origin(request)):
        raise Forbidden("This form was sent from another site.", code="csrf_failed")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}".lower()


def safe_next(target: str | None) -> str:
    """Only a path on this site may follow sign-in (never `//other.site` or `https://...`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
