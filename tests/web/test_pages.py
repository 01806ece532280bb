"""The page frame: sign-in, security headers, redirects, escaping, CSRF and safe Markdown."""

from __future__ import annotations

import json
import re

from labelvault.accounts.models import Role
from labelvault.web.frame import safe_markdown

XSS = "<img src=x onerror=alert(1)></script><script>window.pwned=1</script>"


def _sign_in(client, actor, **headers):
    return client.post("/sign-in", data={"email": actor.email, "password": actor.password, "next": "/"},
                       headers=headers, follow_redirects=False)


def test_sign_in_page_allows_no_script(client):
    page = client.get("/sign-in?next=//evil.example")
    csp = page.headers["content-security-policy"]
    assert page.status_code == 200 and "default-src 'none'" in csp and "script-src" not in csp
    assert 'value="/"' in page.text  # another site is never a target after sign-in
    assert page.headers["x-frame-options"] == "DENY"


def test_sign_in_sets_a_strict_session_cookie(client, owner):
    wrong = client.post("/sign-in", data={"email": owner.email, "password": "wrong-password-1"})
    assert wrong.status_code == 401 and "<form" in wrong.text
    response = _sign_in(client, owner)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "lv_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http in tests; https or secure_cookies sets it


def test_sign_in_over_https_marks_the_cookie_secure(client, owner):
    response = client.post("https://testserver/sign-in", data={"email": owner.email, "password": owner.password},
                           follow_redirects=False)
    assert "Secure" in response.headers["set-cookie"]


def test_sign_in_form_from_another_site_is_refused(client, owner):
    response = _sign_in(client, owner, origin="https://evil.example")
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert "set-cookie" not in response.headers


def test_pages_send_a_browser_to_sign_in(client):
    for path in ("/", "/account/password", "/projects/0190a0a0-0000-7000-8000-000000000000/label"):
        response = client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=/")
    assert client.get("/api/v1/me", headers={"accept": "text/html"}).status_code == 401


def test_a_page_error_is_a_page(client, owner):
    _sign_in(client, owner)
    response = client.get("/projects/0190a0a0-0000-7000-8000-000000000000/label", headers={"accept": "text/html"})
    assert response.status_code == 404 and "project not found." in response.text
    assert "script-src" not in response.headers["content-security-policy"]
    assert client.get("/api/v1/projects/0190a0a0-0000-7000-8000-000000000000",
                      headers={"accept": "text/html"}).json()["code"] == "not_found"


def test_home_lists_projects_escaped_with_a_strict_policy(client, owner, member_of):
    annotator = member_of(owner, Role.annotator)
    client.post("/api/v1/projects", headers=owner.headers, json={
        "name": XSS, "guidelines": f"[x](javascript:alert(1)) {XSS}",
        "schema": {"fields": [{"name": "text", "kind": "text"}], "questions": [
            {"name": "q", "type": "single_choice", "options": [{"value": "a"}, {"value": "b"}]}]}})
    _sign_in(client, annotator)
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "require-trusted-types-for" in csp
    assert "<script>window.pwned" not in page.text and "<img" not in page.text and "&lt;img" in page.text
    assert 'href="javascript' not in page.text
    assert re.search(r'<meta name="csrf-token" content="[^"]{20,}">', page.text)


def test_labeling_page_embeds_the_schema_as_inert_json(client, owner, member_of):
    annotator = member_of(owner, Role.annotator)
    project = client.post("/api/v1/projects", headers=owner.headers, json={
        "name": "P", "schema": {"fields": [{"name": "text", "kind": "text"}], "questions": [
            {"name": "q", "type": "single_choice", "title": XSS,
             "options": [{"value": "a", "label": XSS}, {"value": "b"}]}]}}).json()
    _sign_in(client, annotator)
    page = client.get(f"/projects/{project['id']}/label")
    assert page.status_code == 200
    blob = re.search(r'<script type="application/json" id="lv-config">(.*?)</script>', page.text, re.S)
    assert blob is not None
    config = json.loads(blob.group(1))
    assert config["schema"]["questions"][0]["title"] == XSS and "<" not in blob.group(1)
    assert page.text.count("<script") == 3  # the inert JSON and two same-origin module files


def test_api_write_with_the_session_cookie_needs_the_csrf_token(client, owner):
    _sign_in(client, owner)
    refused = client.post("/api/v1/tokens", json={"name": "t"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    assert client.post("/api/v1/tokens", json={"name": "t"}, headers={"x-csrf-token": token}).status_code == 201


def test_safe_markdown_keeps_formatting_and_drops_anything_that_runs():
    html = safe_markdown("# Title\n\n**bold** `code` [ok](https://example.test) [bad](javascript:alert(1))\n\n"
                         "<script>alert(1)</script><img src=x onerror=alert(1)>")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert 'href="https://example.test"' in html
    assert "href=\"javascript" not in html and "<script" not in html and "<img" not in html
