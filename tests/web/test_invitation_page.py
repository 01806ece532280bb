"""The page behind an invitation link."""

from __future__ import annotations


def _invite(client, owner, email="page@example.test"):
    link = client.post("/api/v1/invitations", json={"email": email, "role": "annotator"},
                       headers=owner.headers).json()["link"]
    return "/invite/" + link.rsplit("/", 1)[1]


def test_invitation_page_joins_once_and_escapes_errors(client, owner):
    path = _invite(client, owner)
    page = client.get(path)
    assert page.status_code == 200 and "<form method=post>" in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    short = client.post(path, data={"password": "short", "name": "<script>alert(1)</script>"})
    assert short.status_code == 422 and "12 characters" in short.text
    joined = client.post(path, data={"password": "a-long-password-9", "name": "<b>Eve</b>"})
    assert joined.status_code == 200 and "annotator" in joined.text
    login = client.post("/api/v1/auth/login", json={"email": "page@example.test", "password": "a-long-password-9"})
    assert login.status_code == 200
    again = client.post(path, data={"password": "a-long-password-9"})
    assert again.status_code == 404 and "used, expired or unknown" in again.text


def test_unknown_invitation_link(client):
    response = client.post("/invite/not-a-real-secret", data={"password": "a-long-password-9"})
    assert response.status_code == 404
