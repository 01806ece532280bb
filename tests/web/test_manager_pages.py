"""The review, returned-work and manager pages: who may open them, escaping of hostile names, and a fixed number of
queries per page whatever the project holds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from labelvault.accounts.models import Role

XSS = "<img src=x onerror=alert(1)></script><script>window.pwned=1</script>"
MANAGER_PAGES = ("items", "overview", "import", "export", "schema", "routing")
ALL_PAGES = ("review", "returned", *MANAGER_PAGES)
SCHEMA = {"fields": [{"name": "text", "kind": "text"}], "questions": [
    {"name": "q", "type": "single_choice", "title": XSS, "options": [{"value": "a", "label": XSS}, {"value": "b"}]}]}


def _sign_in(client, actor):
    response = client.post("/sign-in", data={"email": actor.email, "password": actor.password, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303


@contextmanager
def counting(engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _project(client, ctx, owner, items: int) -> str:
    project = client.post("/api/v1/projects", headers=owner.headers,
                          json={"name": XSS, "guidelines": f"[x](javascript:alert(1)) {XSS}", "schema": SCHEMA}).json()
    lines = "".join(f'{{"external_id": "e{i}", "data": {{"text": "t{i}"}}}}\n' for i in range(items))
    job = client.post(f"/api/v1/projects/{project['id']}/imports", headers=owner.headers,
                      files={"file": ("items.jsonl", lines.encode(), "application/x-ndjson")})
    assert job.status_code in (201, 202), job.text
    ctx.runner.run_until_idle()
    listed = client.get(f"/api/v1/projects/{project['id']}/items", params={"limit": 100}, headers=owner.headers)
    assert len(listed.json()["items"]) == items
    return str(project["id"])


def test_an_annotator_cannot_open_the_review_page(client, ctx, owner, member_of):
    annotator = member_of(owner, Role.annotator)
    project_id = _project(client, ctx, owner, 1)
    _sign_in(client, annotator)
    response = client.get(f"/projects/{project_id}/review", headers={"accept": "text/html"})
    assert response.status_code in (403, 404)
    assert client.get(f"/projects/{project_id}/returned").status_code == 200


def test_only_managers_open_manager_pages(client, ctx, owner, member_of):
    project_id = _project(client, ctx, owner, 1)
    for role in (Role.annotator, Role.reviewer):
        client.cookies.clear()
        _sign_in(client, member_of(owner, role))
        for path in MANAGER_PAGES:
            response = client.get(f"/projects/{project_id}/{path}", headers={"accept": "text/html"})
            assert response.status_code in (403, 404), (role, path)
        assert f"/projects/{project_id}/overview" not in client.get("/").text  # no link to what is refused
        assert client.get("/members", headers={"accept": "text/html"}).status_code in (403, 404), role
        assert 'href="/members"' not in client.get("/").text
    client.cookies.clear()
    _sign_in(client, member_of(owner, Role.manager))
    for path in MANAGER_PAGES:
        assert client.get(f"/projects/{project_id}/{path}").status_code == 200
        assert f'href="/projects/{project_id}/{path}"' in client.get("/").text
    assert client.get("/members").status_code == 200 and 'href="/members"' in client.get("/").text


def test_a_vendors_manager_opens_no_owner_page(client, ctx, owner, member_of):
    project_id = _project(client, ctx, owner, 1)
    vendor = client.post("/api/v1/vendors", json={"name": "Outside"}, headers=owner.headers).json()["id"]
    client.put(f"/api/v1/projects/{project_id}/routing", json={"rules": [{"workforce_id": vendor, "match": {}}]},
               headers=owner.headers)
    _sign_in(client, member_of(owner, Role.manager, vendor))
    home = client.get("/").text
    for path in MANAGER_PAGES:
        response = client.get(f"/projects/{project_id}/{path}", headers={"accept": "text/html"})
        assert response.status_code in (403, 404), path
        assert f"/projects/{project_id}/{path}" not in home
    assert client.get("/vendors", headers={"accept": "text/html"}).status_code in (403, 404)
    assert 'href="/vendors"' not in home and 'href="/members"' in home  # their own people only


def test_pages_escape_and_embed_the_schema_inert(client, ctx, owner):
    project_id = _project(client, ctx, owner, 1)
    _sign_in(client, owner)
    for path in ALL_PAGES:
        page = client.get(f"/projects/{project_id}/{path}")
        assert page.status_code == 200
        assert "<script>window.pwned" not in page.text and "<img" not in page.text and "&lt;img" in page.text
        assert 'href="javascript' not in page.text
        blob = re.search(r'<script type="application/json" id="lv-config">(.*?)</script>', page.text, re.S)
        assert blob is None or "<" not in blob.group(1)
        assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_pages_make_the_same_queries_for_one_item_or_many(client, ctx, owner, engine):
    small, big = _project(client, ctx, owner, 1), _project(client, ctx, owner, 40)
    _sign_in(client, owner)
    for path in ALL_PAGES:
        counts = []
        for project_id in (small, big):
            with counting(engine) as statements:
                assert client.get(f"/projects/{project_id}/{path}").status_code == 200
            counts.append(len(statements))
        assert counts[0] == counts[1] and counts[0] <= 12, (path, counts)
        assert not any("count(" in s.lower() for s in statements)


def test_members_page_escapes_names_and_costs_the_same_for_any_number_of_members(client, owner, member_of, engine):
    _sign_in(client, owner)
    counts = []
    for _ in range(2):
        with counting(engine) as statements:
            page = client.get("/members")
        assert page.status_code == 200
        counts.append(len(statements))
        for _ in range(5):
            member_of(owner, Role.annotator)
        client.post("/api/v1/tokens", headers=owner.headers, json={"name": XSS})
    assert counts[0] == counts[1] and counts[0] <= 8, counts
    page = client.get("/members")
    assert page.text.count("<tr data-user=") == 11 and page.text.count("<tr data-token=") == 13  # every token (owner)
    assert "<script>window.pwned" not in page.text and "<img" not in page.text and "&lt;img" in page.text
    assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_managers_see_no_owner_actions_and_only_their_own_tokens(client, owner, member_of):
    manager = member_of(owner, Role.manager)
    _sign_in(client, manager)
    page = client.get("/members")
    assert page.status_code == 200
    assert 'class="role"' not in page.text and "Remove…" not in page.text and "Invite" in page.text
    assert page.text.count("<tr data-token=") == 1  # the manager's own test token, not the owner's
