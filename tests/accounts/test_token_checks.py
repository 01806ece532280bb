"""Every request checks its API token, user and membership against the database: changes apply at once."""

from __future__ import annotations

from sqlalchemy import delete, update

from labelvault.accounts.models import Membership, Role, User
from labelvault.db.engine import transaction
from labelvault.testing import TEXT_SCHEMA


def test_a_deactivated_users_token_is_refused_on_the_next_request(client, factory, owner, member_of):
    annotator = member_of(owner, Role.annotator)
    assert client.get("/api/v1/me", headers=annotator.headers).status_code == 200
    with transaction(factory) as session:
        session.execute(update(User).where(User.id == annotator.user_id).values(is_active=False))
    refused = client.get("/api/v1/me", headers=annotator.headers)
    assert refused.status_code == 401 and "deactivated" in refused.json()["message"]


def test_a_token_of_someone_no_longer_a_member_is_refused(client, factory, owner, member_of):
    annotator = member_of(owner, Role.annotator)
    with transaction(factory) as session:
        session.execute(delete(Membership).where(Membership.user_id == annotator.user_id))
    refused = client.get("/api/v1/me", headers=annotator.headers)
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"


def test_a_role_change_applies_to_the_next_request(client, factory, owner, member_of):
    manager = member_of(owner, Role.manager)
    body = {"name": "P", "schema": TEXT_SCHEMA}
    assert client.post("/api/v1/projects", json=body, headers=manager.headers).status_code == 201
    with transaction(factory) as session:
        session.execute(update(Membership).where(Membership.user_id == manager.user_id)
                        .values(role=Role.annotator))
    assert client.post("/api/v1/projects", json=body, headers=manager.headers).status_code == 403
