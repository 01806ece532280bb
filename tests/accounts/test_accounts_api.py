"""Sign-in, sessions with CSRF, API tokens, invitations, members, organization isolation."""

from __future__ import annotations

import datetime as dt
import stat

from sqlalchemy import update

from labelvault.accounts.models import Invitation, Role
from labelvault.config import Settings
from labelvault.db.engine import transaction
from labelvault.testing import TEXT_SCHEMA, make_actor


def _login(client, actor):
    response = client.post("/api/v1/auth/login", json={"email": actor.email, "password": actor.password})
    assert response.status_code == 200, response.text
    return response.json()


def test_login_sets_a_strict_http_only_cookie_and_requires_csrf_for_writes(client, owner):
    body = _login(client, owner)
    cookie = client.cookies.get("lv_session")
    assert cookie
    header = next(v for k, v in client.post("/api/v1/auth/login", json={
        "email": owner.email, "password": owner.password}).headers.items() if k == "set-cookie")
    assert "HttpOnly" in header and "SameSite=strict" in header
    assert client.get("/api/v1/me").json()["email"] == owner.email
    refused = client.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    csrf = client.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password}).json()
    accepted = client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf["csrf_token"]})
    assert accepted.status_code == 201
    assert body["role"] == "owner"


def test_wrong_password_and_unknown_user_answer_alike(client, owner):
    wrong = client.post("/api/v1/auth/login", json={"email": owner.email, "password": "not-the-password"})
    unknown = client.post("/api/v1/auth/login", json={"email": "nobody@example.test", "password": "x" * 12})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_logout_ends_the_session(client, owner):
    csrf = _login(client, owner)["csrf_token"]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/me").status_code == 401


def test_token_is_shown_once_stored_hashed_and_revocable(client, owner, factory):
    created = client.post("/api/v1/tokens", json={"name": "ci"}, headers=owner.headers).json()
    secret = created["token"]
    assert secret.startswith("lv_")
    listed = client.get("/api/v1/tokens", headers=owner.headers).json()
    assert all("token" not in t for t in listed)
    from labelvault.accounts.models import ApiToken

    with transaction(factory) as session:
        stored = session.get(ApiToken, created["id"])
        assert stored is not None and secret not in (stored.digest, stored.prefix)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    used = next(t for t in client.get("/api/v1/tokens", headers=owner.headers).json() if t["id"] == created["id"])
    assert used["last_used_at"] is not None
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=owner.headers).status_code == 200
    revoked = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert revoked.status_code == 401 and revoked.json()["code"] == "not_authenticated"


def test_annotator_cannot_revoke_someone_elses_token(client, owner, member_of):
    annotator = member_of(owner, Role.annotator)
    owner_token = client.get("/api/v1/tokens", headers=owner.headers).json()[0]
    response = client.delete(f"/api/v1/tokens/{owner_token['id']}", headers=annotator.headers)
    assert response.status_code == 404
    assert [t["user_id"] for t in client.get("/api/v1/tokens", headers=annotator.headers).json()] == [
        annotator.user_id]


def test_invitation_link_is_single_use_and_gives_the_role(client, owner):
    invited = client.post("/api/v1/invitations", json={"email": "new@example.test", "role": "reviewer"},
                          headers=owner.headers)
    assert invited.status_code == 201
    secret = invited.json()["link"].rsplit("/", 1)[1]
    accepted = client.post(f"/api/v1/invitations/{secret}/accept", json={"password": "a-long-password-1"})
    assert accepted.status_code == 200 and accepted.json()["role"] == "reviewer"
    again = client.post(f"/api/v1/invitations/{secret}/accept", json={"password": "a-long-password-1"})
    assert again.status_code == 404
    login = client.post("/api/v1/auth/login", json={"email": "new@example.test", "password": "a-long-password-1"})
    assert login.json()["role"] == "reviewer"
    members = client.get("/api/v1/members", headers=owner.headers).json()
    assert {m["email"] for m in members} == {owner.email, "new@example.test"}


def test_expired_invitation_is_refused(client, owner, factory):
    invited = client.post("/api/v1/invitations", json={"email": "late@example.test"}, headers=owner.headers)
    with transaction(factory) as session:
        session.execute(update(Invitation).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    secret = invited.json()["link"].rsplit("/", 1)[1]
    assert client.post(f"/api/v1/invitations/{secret}/accept",
                       json={"password": "a-long-password-1"}).status_code == 404


def test_managers_cannot_invite_owners_and_short_passwords_are_refused(client, owner, member_of):
    manager = member_of(owner, Role.manager)
    refused = client.post("/api/v1/invitations", json={"email": "x@example.test", "role": "owner"},
                          headers=manager.headers)
    assert refused.status_code == 403
    invited = client.post("/api/v1/invitations", json={"email": "y@example.test"}, headers=manager.headers)
    secret = invited.json()["link"].rsplit("/", 1)[1]
    short = client.post(f"/api/v1/invitations/{secret}/accept", json={"password": "short"})
    assert short.status_code == 422 and short.json()["details"] == {"field": "password"}


def test_other_organizations_objects_answer_exactly_like_missing_ones(client, owner, factory):
    stranger = make_actor(factory, Role.owner)
    project = client.post("/api/v1/projects", json={"name": "secret", "schema": TEXT_SCHEMA},
                          headers=owner.headers).json()
    foreign = client.get(f"/api/v1/projects/{project['id']}", headers=stranger.headers)
    missing = client.get("/api/v1/projects/0190a0a0-0000-7000-8000-000000000000", headers=stranger.headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert [p["id"] for p in client.get("/api/v1/projects", headers=stranger.headers).json()["items"]] == []
    token_id = client.get("/api/v1/tokens", headers=owner.headers).json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=stranger.headers).status_code == 404


def test_password_change(client, owner):
    wrong = client.post("/api/v1/me/password", json={"current_password": "nope", "new_password": "x" * 14},
                        headers=owner.headers)
    assert wrong.status_code == 401
    ok = client.post("/api/v1/me/password",
                     json={"current_password": owner.password, "new_password": "a-new-password-2"},
                     headers=owner.headers)
    assert ok.status_code == 204
    login = client.post("/api/v1/auth/login", json={"email": owner.email, "password": "a-new-password-2"})
    assert login.status_code == 200


def test_secret_key_is_random_and_private(tmp_path):
    first = Settings(data_dir=tmp_path / "a").secret_key
    second = Settings(data_dir=tmp_path / "b").secret_key
    assert first != second and len(first) == 32
    mode = stat.S_IMODE((tmp_path / "a" / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert Settings(data_dir=tmp_path / "a").secret_key == first


def test_instance_admin_creates_organizations(client, factory):
    admin = make_actor(factory, Role.owner, is_admin=True)
    created = client.post("/api/v1/organizations", json={"name": "Second Org"}, headers=admin.headers)
    assert created.status_code == 201 and created.json()["slug"] == "second-org"
    names = {o["name"] for o in client.get("/api/v1/organizations", headers=admin.headers).json()}
    assert "Second Org" in names
