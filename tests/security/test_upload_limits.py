"""Uploads: every upload route refuses a body over its configured limit with 413 and keeps nothing; media paths
cannot leave the project's media store; session cookies carry their flags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from labelvault.app import create_app
from labelvault.testing import TEXT_SCHEMA

LIMIT = 64


@pytest.fixture
def small(settings, ctx) -> Iterator[TestClient]:
    """The app with upload limits of 64 bytes."""
    limited = settings.model_copy(update={"max_import_bytes": LIMIT, "max_media_bytes": LIMIT})
    ctx.settings = limited
    with TestClient(create_app(limited, context=ctx)) as client:
        yield client


@pytest.fixture
def project(small, owner) -> str:
    return str(small.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA},
                          headers=owner.headers).json()["id"])


UPLOADS = {
    "import": ("POST", "/api/v1/projects/{p}/imports", {"filename": "items.jsonl"}),
    "predictions": ("POST", "/api/v1/projects/{p}/predictions/imports", {"filename": "p.jsonl"}),
    "media": ("PUT", "/api/v1/projects/{p}/media/photos/a.png", {}),
}


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("name", sorted(UPLOADS))
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_kept(small, owner, project, settings, name,
                                                                       declared):
    method, path, params = UPLOADS[name]
    body = b'{"external_id": "x", "data": {"text": "' + b"a" * LIMIT + b'"}}\n'
    content = body if declared else iter([body[:40], body[40:]])
    before = _files(settings.data_dir)
    response = small.request(method, path.format(p=project), params=params, content=content, headers=owner.headers)
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["details"] == {"limit": LIMIT}
    assert str(LIMIT) in response.json()["message"]
    assert [p for p in _files(settings.data_dir) if p not in before and p.suffix != ".key"] == []


@pytest.mark.parametrize("name", sorted(UPLOADS))
def test_a_body_at_the_limit_is_accepted(small, owner, project, name):
    method, path, params = UPLOADS[name]
    body = b'{"external_id": "x", "data": {"text": "a"}}\n'.ljust(LIMIT - 1) + b"\n"
    assert len(body) == LIMIT
    response = small.request(method, path.format(p=project), params=params, content=body, headers=owner.headers)
    assert response.status_code in (201, 202), response.text


@pytest.mark.parametrize("path", [
    "%2e%2e/%2e%2e/escaped.png", "..%2F..%2Fescaped.png", "photos/%2e%2e/%2e%2e/%2e%2e/escaped.png",
    "%2Fescaped.png", "..%5C..%5Cescaped.png", "a%00b.png",
])
def test_media_paths_cannot_leave_the_store(small, owner, project, settings, path):
    before = _files(settings.data_dir.parent)
    response = small.put(f"/api/v1/projects/{project}/media/{path}", content=b"x", headers=owner.headers)
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        assert response.json()["details"]["field"] == "path"
    created = [p for p in _files(settings.data_dir.parent) if p not in before and p.suffix != ".key"]
    assert created == []
    assert small.get(f"/api/v1/projects/{project}/media/{path}", headers=owner.headers).status_code in (404, 422)


def _cookie(response) -> str:  # type: ignore[no-untyped-def]
    return next(v for k, v in response.headers.multi_items() if k.lower() == "set-cookie").lower()


@pytest.mark.parametrize("route", ["api", "page"])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_session_cookies_are_httponly_strict_and_secure_over_https(settings, ctx, owner, route, scheme):
    with TestClient(create_app(settings, context=ctx), base_url=f"{scheme}://testserver") as client:
        if route == "api":
            response = client.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password})
        else:
            response = client.post("/sign-in", data={"email": owner.email, "password": owner.password},
                                   headers={"Origin": f"{scheme}://testserver"}, follow_redirects=False)
        assert response.status_code in (200, 303), response.text
        cookie = _cookie(response)
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie
    assert ("secure" in cookie.replace("samesite", "")) == (scheme == "https")


def test_session_cookies_are_secure_when_configured(settings, ctx, owner):
    secure = settings.model_copy(update={"secure_cookies": True})
    ctx.settings = secure
    with TestClient(create_app(secure, context=ctx)) as client:
        response = client.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password})
    assert "; secure" in _cookie(response)
