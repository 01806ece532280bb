"""Twin organizations for the security tests: the same objects in each, every text of one organization marked
with its own canary string, and the principals that act on them as a list of factories.

A principal kind is one `PrincipalKind` (a name, the role it acts with, and how to make its credential): new
kinds (vendor managers, vendor annotators, team members) are one entry more in `PRINCIPALS`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.models import Role
from labelvault.db.engine import transaction
from labelvault.quality.models import Suspension
from labelvault.testing import Actor, make_actor

SCHEMA: dict[str, Any] = {
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "type": "single_choice",
         "options": [{"value": "positive"}, {"value": "neutral"}, {"value": "negative"}]},
        {"name": "entities", "type": "spans", "field": "text", "required": False, "labels": [{"value": "PER"}]},
        {"name": "note", "type": "free_text", "required": False},
    ],
}
POOL_ITEMS = 80
MEDIA_PATH = "photos/cat.png"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@dataclass
class Org:
    """One organization of the twin world, its owner and annotator, and the ids of its objects."""

    name: str
    canary: str
    owner: Actor
    annotator: Actor
    ids: dict[str, str] = field(default_factory=dict)
    pool: list[str] = field(default_factory=list)


@dataclass
class World:
    client: TestClient
    factory: sessionmaker[Session]
    runner: Any
    orgs: dict[str, Org] = field(default_factory=dict)

    def call(self, method: str, url: str, actor: Actor | None = None, **kwargs: Any) -> Any:
        headers = {**(actor.headers if actor else {}), **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def ok(self, method: str, url: str, actor: Actor, **kwargs: Any) -> Any:
        response = self.call(method, url, actor, **kwargs)
        assert response.status_code < 300, f"{method} {url}: {response.status_code} {response.text}"
        return response.json() if response.content and "json" in response.headers.get("content-type", "") else None

    def member(self, org: Org, role: Role, label: str = "member") -> Actor:
        return make_actor(self.factory, role, organization_id=org.owner.organization_id,
                          email=f"{label}-{org.canary}-{secrets.token_hex(3)}@example.test".lower())

    # -- objects made fresh for each call of a route that uses them up ------------------------------------

    def take_item(self, org: Org) -> str:
        return org.pool.pop()

    def fresh(self, org: Org, name: str) -> str:
        """A new object of kind `name` in `org` (for routes that consume theirs)."""
        owner, project = org.owner, org.ids["project_id"]
        if name == "item_id":
            return self.take_item(org)
        if name == "gold_item_id":
            item = self.take_item(org)
            self.ok("PUT", f"/api/v1/items/{item}/gold", owner, json={"answers": {"sentiment": "positive"}})
            return item
        if name == "lease_id":
            return str(self.ok("POST", f"/api/v1/projects/{project}/next", org.annotator)["lease"]["id"])
        if name == "token_id":
            return str(self.ok("POST", "/api/v1/tokens", owner, json={"name": f"spare {org.canary}"})["id"])
        if name == "member_id":
            return self.member(org, Role.annotator, "spare").user_id
        if name == "team_member_id":
            member = self.member(org, Role.annotator, "teamed").user_id
            self.ok("PUT", f"/api/v1/teams/{org.ids['team_id']}/members/{member}", owner)
            return member
        if name == "new_vendor_id":
            return str(self.ok("POST", "/api/v1/vendors", owner, json={"name": f"Spare {secrets.token_hex(3)}"})["id"])
        if name == "secret":
            made = self.ok("POST", "/api/v1/invitations", owner,
                           json={"email": f"invited-{secrets.token_hex(3)}@example.test"})
            return str(made["link"].rstrip("/").rsplit("/", 1)[-1])
        if name == "annotation_id":
            item = self.take_item(org)
            return str(self.ok("POST", f"/api/v1/items/{item}/annotations", org.annotator,
                               json={"answers": {"sentiment": "neutral", "note": f"fresh {org.canary}"}})["id"])
        if name == "suspension_id":
            with transaction(self.factory) as session:
                row = Suspension(organization_id=owner.organization_id, project_id=project,
                                 user_id=org.ids["suspended_user_id"], gold_accuracy=0.1, gold_items=10, threshold=0.8)
                session.add(row)
                session.flush()
                return str(row.id)
        raise KeyError(name)

    # -- the twin ---------------------------------------------------------------------------------------------

    def build_org(self, label: str) -> Org:
        canary = f"CANARY{label}{secrets.token_hex(4)}"
        owner = make_actor(self.factory, Role.owner, email=f"owner-{canary}@example.test".lower())
        org = Org(label, canary, owner, Actor("", "", "", Role.annotator, "", ""))
        org.annotator = self.member(org, Role.annotator, "annotator")
        org.ids["organization_id"] = owner.organization_id
        project = self.ok("POST", "/api/v1/projects", owner, json={
            "name": f"Project {canary}", "description": f"About {canary}", "guidelines": f"Guide {canary}",
            "schema": SCHEMA})
        project_id = org.ids["project_id"] = str(project["id"])
        lines = [{"external_id": f"{canary}-{n}", "data": {"text": f"Text {n} of {canary}"},
                  "metadata": {"source": f"meta {canary}", "split": "train"}, "overlap": 10} for n in range(POOL_ITEMS)]
        job = self.ok("POST", f"/api/v1/projects/{project_id}/imports", owner,
                      params={"filename": f"items-{canary}.jsonl"},
                      content=b"".join(orjson.dumps(line) + b"\n" for line in lines))
        org.ids["job_id"] = str(job["id"])
        self.runner.run_until_idle()
        page = self.ok("GET", f"/api/v1/projects/{project_id}/items", owner, params={"limit": 500})
        org.pool = [i["id"] for i in page["items"]]
        assert len(org.pool) == POOL_ITEMS, page
        item = org.ids["item_id"] = self.take_item(org)
        annotation = self.ok("POST", f"/api/v1/items/{item}/annotations", org.annotator, json={
            "answers": {"sentiment": "positive", "note": f"Note {canary}",
                        "entities": [{"start": 0, "end": 4, "label": "PER"}]}})
        org.ids["annotation_id"] = str(annotation["id"])
        reviewer = self.member(org, Role.reviewer, "reviewer")
        self.ok("POST", f"/api/v1/annotations/{annotation['id']}/review", reviewer,
                json={"decision": "reject", "comment": f"Comment {canary}"})
        self.ok("PUT", f"/api/v1/items/{item}/gold", owner, json={"answers": {"note": f"Gold {canary}",
                                                                             "sentiment": "negative"}})
        predictions = {"external_id": f"{canary}-0", "model_name": f"model-{canary}", "model_version": "1",
                       "score": 0.5, "answers": {"note": f"Prediction {canary}"}}
        self.ok("POST", f"/api/v1/projects/{project_id}/predictions/imports", owner,
                params={"filename": "predictions.jsonl"}, content=orjson.dumps(predictions) + b"\n")
        exam = self.ok("POST", f"/api/v1/projects/{project_id}/qualification/items", owner, json={
            "data": {"text": f"Exam {canary}"}, "answers": {"sentiment": "positive"}})
        org.ids["exam_item_id"] = str(exam["id"])
        self.ok("PUT", f"/api/v1/projects/{project_id}/media/{MEDIA_PATH}", owner, content=PNG)
        org.ids["path"] = MEDIA_PATH
        export = self.ok("POST", f"/api/v1/projects/{project_id}/exports", owner, json={"format": "hf_jsonl"})
        self.runner.run_until_idle()
        org.ids["export_job_id"] = str(export["id"])
        self.ok("POST", f"/api/v1/projects/{project_id}/quality/refresh", owner)
        self.runner.run_until_idle()
        org.ids["lease_id"] = self.fresh(org, "lease_id")
        org.ids["user_id"] = org.annotator.user_id
        org.ids["suspended_user_id"] = self.member(org, Role.annotator, "suspended").user_id
        org.ids["suspension_id"] = self.fresh(org, "suspension_id")
        org.ids["token_id"] = self.fresh(org, "token_id")
        # A vendor with items of its own in the project (the rest stays with the organization's people), a team.
        vendor = self.ok("POST", "/api/v1/vendors", owner, json={"name": f"Vendor {canary}"})
        org.ids["vendor_id"] = str(vendor["id"])
        self.ok("PUT", f"/api/v1/projects/{project_id}/routing", owner, json={"rules": [
            {"workforce_id": vendor["id"], "match": {"metadata": {"route": "vendor"}}}]})
        vendor_lines = [{"external_id": f"{canary}-v{n}", "data": {"text": f"Vendor text {n} of {canary}"},
                         "metadata": {"route": "vendor", "source": f"meta {canary}"}} for n in range(2)]
        self.ok("POST", f"/api/v1/projects/{project_id}/imports", owner, params={"filename": "vendor.jsonl"},
                content=b"".join(orjson.dumps(line) + b"\n" for line in vendor_lines))
        self.runner.run_until_idle()
        org.ids["team_id"] = str(self.ok("POST", "/api/v1/teams", owner, json={"name": f"Team {canary}"})["id"])
        self.orgs[label] = org
        return org


def build_world(client: TestClient, factory: sessionmaker[Session], runner: Any) -> World:
    """Organizations A (the principals' own) and B (the foreign twin)."""
    world = World(client, factory, runner)
    world.build_org("A")
    world.build_org("B")
    return world


# -- principals ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrincipalKind:
    """How to make one kind of caller in an organization. `role` None: the caller holds no valid credential."""

    name: str
    role: Role | None
    make: Callable[[World, Org], Actor | None]


def _member(role: Role) -> Callable[[World, Org], Actor]:
    return lambda world, org: world.member(org, role, role.value)


def _org_annotator(world: World, org: Org) -> Actor:
    """The organization's annotator: the author of its annotations and holder of its lease."""
    return org.annotator


def _removed_member(world: World, org: Org) -> Actor:
    actor = world.member(org, Role.manager, "removed")
    world.ok("DELETE", f"/api/v1/members/{actor.user_id}", org.owner)
    return actor


def _revoked_token(world: World, org: Org) -> Actor:
    actor = world.member(org, Role.manager, "revoked")
    token_id = world.ok("GET", "/api/v1/tokens", actor)[0]["id"]
    world.ok("DELETE", f"/api/v1/tokens/{token_id}", actor)
    return actor


def _anonymous(world: World, org: Org) -> None:
    return None


def _vendor_member(role: Role) -> Callable[[World, Org], Actor]:
    def make(world: World, org: Org) -> Actor:
        return make_actor(world.factory, role, organization_id=org.owner.organization_id,
                          email=f"vendor-{role.value}-{org.canary}-{secrets.token_hex(3)}@example.test".lower(),
                          vendor_id=org.ids["vendor_id"])
    return make


PRINCIPALS: list[PrincipalKind] = [
    PrincipalKind("owner", Role.owner, lambda world, org: org.owner),
    PrincipalKind("manager", Role.manager, _member(Role.manager)),
    PrincipalKind("reviewer", Role.reviewer, _member(Role.reviewer)),
    PrincipalKind("annotator", Role.annotator, _org_annotator),
    PrincipalKind("removed_member", None, _removed_member),
    PrincipalKind("revoked_token", None, _revoked_token),
    PrincipalKind("anonymous", None, _anonymous),
    PrincipalKind("vendor_manager", Role.manager, _vendor_member(Role.manager)),
    PrincipalKind("vendor_annotator", Role.annotator, _vendor_member(Role.annotator)),
]
