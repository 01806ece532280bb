"""The authorization matrix as data: for every route, the lowest role that may call it, the request that
exercises it, and the outcomes that differ from what the role rule gives.

The rule (`expected`): a caller without a valid credential gets 401; a caller whose role is below the route's
gets 403 whatever the object (the role is checked before anything is loaded); a caller whose role suffices gets
"ok" (any 2xx) on its own organization's object and 404 on another organization's, the same answer as for an
object that does not exist. `own` and `other` name the principals for whom a route answers otherwise.

A route of the app with no row here fails the matrix test, and so does a row whose route is gone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from tests.security.world import PNG, SCHEMA, Org, World

from labelvault.accounts.models import Role
from labelvault.security.policy import RANK

OK = "ok"
PUBLIC = "public"
ADMIN = "admin"
Body = Callable[[World, Org, Any], dict[str, Any]]


def _none(world: World, org: Org, actor: Any) -> dict[str, Any]:
    return {}


def _json(value: Any) -> Body:
    return lambda world, org, actor: {"json": value}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    needs: Role | str
    body: Body = _none
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> the world's id of that name
    fresh: frozenset[str] = frozenset()  # path parameters made anew for each call (the route uses them up)
    own: dict[str, int | str] = field(default_factory=dict)
    other: dict[str, int | str] = field(default_factory=dict)
    success: int | str = OK  # what an allowed call answers, when it is not any 2xx
    # A vendor's people: the lowest role of theirs that may call the route (None: never), and whether their own
    # organization's object is theirs to see (routed to their vendor); if not, it answers as missing.
    vendor: Role | None = None
    vendor_sees: bool = False
    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"\{([^}:]+)(?::[^}]*)?\}", self.path)

    @property
    def foreign(self) -> bool:
        """Whether the route names an object, so another organization's can be tried."""
        return bool(self.parameters) and self.needs != PUBLIC


R = Role
ANNOTATION = {"answers": {"sentiment": "neutral"}}
NOT_THEIRS = 404  # an object of the caller's organization that belongs to someone else is not found for them
ITEMS_JSONL = orjson.dumps({"external_id": "new-1", "data": {"text": "new"}}) + b"\n"


def _password_change(world: World, org: Org, actor: Any) -> dict[str, Any]:
    password = actor.password if actor else "wrong-password-123"
    return {"json": {"current_password": password, "new_password": password}}


def _login(world: World, org: Org, actor: Any) -> dict[str, Any]:
    return {"json": {"email": org.owner.email, "password": org.owner.password}}


def _exam_answers(world: World, org: Org, actor: Any) -> dict[str, Any]:
    exam = world.ok("GET", f"/api/v1/projects/{org.ids['project_id']}/qualification/exam", org.owner)
    return {"json": {"answers": {q["id"]: {"sentiment": "positive"} for q in exam["items"]}}}


def _bulk(world: World, org: Org, actor: Any) -> dict[str, Any]:
    return {"json": {"action": "set_overlap", "item_ids": [org.ids["item_id"]], "overlap": 10}}


def _routing(world: World, org: Org, actor: Any) -> dict[str, Any]:
    return {"json": {"rules": [{"workforce_id": org.ids["vendor_id"], "match": {"metadata": {"route": "vendor"}}}]}}


ROUTES: list[Route] = [
    # operations and sign-in
    Route("GET", "/healthz", PUBLIC),
    Route("GET", "/readyz", PUBLIC),
    Route("GET", "/metrics", PUBLIC),
    Route("POST", "/api/v1/auth/login", PUBLIC, _login),
    Route("GET", "/sign-in", PUBLIC),
    Route("POST", "/sign-in", PUBLIC, lambda w, o, a: {
        "data": {"email": o.owner.email, "password": o.owner.password}, "headers": {"Origin": "http://testserver"},
        "follow_redirects": False}, success=303),
    Route("GET", "/invite/{secret}", PUBLIC, fresh=frozenset({"secret"})),
    Route("POST", "/invite/{secret}", PUBLIC, lambda w, o, a: {"data": {"password": "a-long-password-1"}},
          fresh=frozenset({"secret"})),
    Route("POST", "/api/v1/invitations/{secret}/accept", PUBLIC,
          _json({"password": "a-long-password-1", "name": "New"}), fresh=frozenset({"secret"})),
    # accounts
    Route("POST", "/api/v1/auth/logout", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("GET", "/api/v1/me", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("POST", "/api/v1/me/password", R.annotator, _password_change, vendor=R.annotator, vendor_sees=True),
    Route("GET", "/api/v1/tokens", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("POST", "/api/v1/tokens", R.annotator, _json({"name": "matrix"}), vendor=R.annotator, vendor_sees=True),
    Route("DELETE", "/api/v1/tokens/{token_id}", R.annotator, fresh=frozenset({"token_id"}),
          own={"manager": NOT_THEIRS, "reviewer": NOT_THEIRS, "annotator": NOT_THEIRS}, vendor=R.annotator),
    Route("POST", "/api/v1/invitations", R.manager, _json({"email": "someone@example.test"}), vendor=R.manager,
          vendor_sees=True),
    Route("GET", "/api/v1/members", R.manager, vendor=R.manager, vendor_sees=True),
    Route("PATCH", "/api/v1/members/{user_id}", R.owner, _json({"role": "reviewer"}), ids={"user_id": "member_id"},
          fresh=frozenset({"user_id"}), vendor=R.manager),
    Route("DELETE", "/api/v1/members/{user_id}", R.owner, ids={"user_id": "member_id"},
          fresh=frozenset({"user_id"}), vendor=R.manager),
    Route("GET", "/api/v1/organizations", ADMIN),
    Route("POST", "/api/v1/organizations", ADMIN, _json({"name": "Another"})),
    # projects
    Route("POST", "/api/v1/projects", R.manager, lambda w, o, a: {"json": {"name": "New", "schema": SCHEMA}}),
    Route("GET", "/api/v1/projects", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("GET", "/api/v1/projects/{project_id}", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("PATCH", "/api/v1/projects/{project_id}", R.manager, _json({"description": "changed"})),
    Route("PUT", "/api/v1/projects/{project_id}/schema", R.manager, lambda w, o, a: {"json": SCHEMA}),
    Route("GET", "/api/v1/projects/{project_id}/schema/versions", R.annotator, vendor=R.annotator, vendor_sees=True),
    # items
    Route("GET", "/api/v1/projects/{project_id}/items", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("POST", "/api/v1/projects/{project_id}/items/bulk", R.manager, _bulk),
    Route("GET", "/api/v1/items/{item_id}", R.annotator, vendor=R.annotator),
    Route("DELETE", "/api/v1/items/{item_id}", R.manager, lambda w, o, a: {"params": {"confirm": "true"}},
          fresh=frozenset({"item_id"})),
    Route("POST", "/api/v1/projects/{project_id}/imports", R.manager,
          lambda w, o, a: {"content": ITEMS_JSONL, "params": {"filename": "items.jsonl"}}),
    Route("PUT", "/api/v1/projects/{project_id}/media/{path}", R.manager, lambda w, o, a: {"content": PNG}),
    Route("GET", "/api/v1/projects/{project_id}/media/{path}", R.annotator, vendor=R.annotator),
    # annotations and review
    Route("POST", "/api/v1/items/{item_id}/annotations", R.annotator, _json(ANNOTATION), fresh=frozenset({"item_id"}),
          vendor=R.annotator),
    Route("GET", "/api/v1/items/{item_id}/annotations", R.annotator, vendor=R.annotator),
    Route("GET", "/api/v1/items/{item_id}/detail", R.reviewer, vendor=R.reviewer),
    Route("GET", "/api/v1/annotations/{annotation_id}", R.annotator, vendor=R.annotator),
    Route("GET", "/api/v1/annotations/{annotation_id}/revisions", R.annotator, vendor=R.annotator),
    Route("POST", "/api/v1/projects/{project_id}/review/next", R.reviewer, vendor=R.reviewer, vendor_sees=True),
    Route("POST", "/api/v1/annotations/{annotation_id}/review", R.reviewer, _json({"decision": "accept"}),
          fresh=frozenset({"annotation_id"}), vendor=R.reviewer),
    Route("GET", "/api/v1/annotations/{annotation_id}/reviews", R.annotator, vendor=R.annotator),
    Route("GET", "/api/v1/projects/{project_id}/returned", R.annotator, vendor=R.annotator, vendor_sees=True),
    # work distribution
    Route("POST", "/api/v1/projects/{project_id}/next", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("POST", "/api/v1/leases/{lease_id}/heartbeat", R.annotator,
          own={"owner": NOT_THEIRS, "manager": NOT_THEIRS, "reviewer": NOT_THEIRS}, vendor=R.annotator),
    Route("DELETE", "/api/v1/leases/{lease_id}", R.annotator, fresh=frozenset({"lease_id"}),
          own={"owner": NOT_THEIRS, "manager": NOT_THEIRS, "reviewer": NOT_THEIRS}, vendor=R.annotator),
    Route("POST", "/api/v1/items/{item_id}/skip", R.annotator, _json({"reason": "unclear"}),
          fresh=frozenset({"item_id"}), vendor=R.annotator),
    Route("GET", "/api/v1/projects/{project_id}/status", R.reviewer, vendor=R.reviewer, vendor_sees=True),
    # exports
    Route("GET", "/api/v1/projects/{project_id}/export", R.manager),
    Route("GET", "/api/v1/export-formats", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("POST", "/api/v1/projects/{project_id}/exports", R.manager, _json({"format": "csv"})),
    Route("POST", "/api/v1/projects/{project_id}/bundles", R.manager),
    Route("GET", "/api/v1/exports/{job_id}/file", R.manager, ids={"job_id": "export_job_id"}),
    # predictions and jobs
    Route("POST", "/api/v1/projects/{project_id}/predictions/imports", R.manager,
          lambda w, o, a: {"content": b'{"external_id": "x", "model_name": "m", "answers": {}}\n',
                           "params": {"filename": "p.jsonl"}}),
    Route("GET", "/api/v1/items/{item_id}/predictions", R.annotator, vendor=R.annotator),
    Route("GET", "/api/v1/jobs/{job_id}", R.annotator, own={"annotator": NOT_THEIRS}),
    Route("GET", "/api/v1/jobs/{job_id}/problems", R.annotator, own={"annotator": NOT_THEIRS}),
    Route("GET", "/api/v1/jobs/{job_id}/problems.jsonl", R.annotator, own={"annotator": NOT_THEIRS}),
    # quality
    Route("GET", "/api/v1/projects/{project_id}/quality/settings", R.manager),
    Route("PATCH", "/api/v1/projects/{project_id}/quality/settings", R.manager, _json({"method": "majority"})),
    Route("PUT", "/api/v1/items/{item_id}/gold", R.manager, _json({"answers": {"sentiment": "negative"}})),
    Route("GET", "/api/v1/items/{item_id}/gold", R.manager),
    Route("DELETE", "/api/v1/items/{item_id}/gold", R.manager, ids={"item_id": "gold_item_id"},
          fresh=frozenset({"item_id"})),
    Route("GET", "/api/v1/projects/{project_id}/gold", R.manager),
    Route("POST", "/api/v1/projects/{project_id}/quality/refresh", R.manager),
    Route("GET", "/api/v1/projects/{project_id}/quality/report", R.manager),
    Route("GET", "/api/v1/projects/{project_id}/aggregates", R.manager),
    Route("GET", "/api/v1/projects/{project_id}/quality/suspensions", R.manager),
    Route("POST", "/api/v1/projects/{project_id}/quality/suspensions/{suspension_id}/reinstate", R.manager,
          fresh=frozenset({"suspension_id"})),
    Route("POST", "/api/v1/projects/{project_id}/qualification/items", R.manager,
          _json({"data": {"text": "exam"}, "answers": {"sentiment": "neutral"}})),
    Route("GET", "/api/v1/projects/{project_id}/qualification/items", R.manager),
    Route("GET", "/api/v1/projects/{project_id}/qualification/exam", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("POST", "/api/v1/projects/{project_id}/qualification/attempts", R.annotator, _exam_answers,
          vendor=R.annotator, vendor_sees=True),
    Route("GET", "/api/v1/projects/{project_id}/qualification/attempts", R.manager),
    # exposure (the ledger)
    Route("GET", "/api/v1/exposure/items/{item_id}", R.manager),
    Route("GET", "/api/v1/exposure/people/{user_id}", R.manager,
          other={"owner": OK, "manager": OK}),  # another organization's person: an empty report, as for nobody
    Route("GET", "/api/v1/exposure/vendors/{vendor_id}", R.manager,
          other={"owner": OK, "manager": OK}),  # names no object yet: an empty report, as for any unknown id
    # browser pages (a token works as well as a session)
    Route("GET", "/", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("GET", "/account/password", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("GET", "/projects/{project_id}/label", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("GET", "/projects/{project_id}/review", R.reviewer, vendor=R.reviewer, vendor_sees=True),
    Route("GET", "/projects/{project_id}/returned", R.annotator, vendor=R.annotator, vendor_sees=True),
    Route("GET", "/projects/{project_id}/items", R.manager),
    Route("GET", "/projects/{project_id}/overview", R.manager),
    Route("GET", "/projects/{project_id}/import", R.manager),
    Route("GET", "/projects/{project_id}/export", R.manager),
    Route("GET", "/projects/{project_id}/schema", R.manager),
    Route("GET", "/projects/{project_id}/routing", R.manager),
    Route("GET", "/members", R.manager, vendor=R.manager),
    Route("GET", "/vendors", R.manager),
    Route("POST", "/api/v1/projects/{project_id}/schema/validate", R.manager, lambda w, o, a: {"json": SCHEMA}),
    # workforce: vendors, teams, skills, routing
    Route("GET", "/api/v1/vendors", R.manager, vendor=R.manager),
    Route("POST", "/api/v1/vendors", R.manager, lambda w, o, a: {"json": {"name": f"V {uuid.uuid4().hex[:8]}"}}),
    Route("PATCH", "/api/v1/vendors/{vendor_id}", R.manager, _json({"review_percent": 20}),
          vendor=R.manager, vendor_sees=True),  # the world's vendor is the vendor people's own
    Route("POST", "/api/v1/vendors/{vendor_id}/revoke", R.manager, ids={"vendor_id": "new_vendor_id"},
          fresh=frozenset({"vendor_id"})),
    Route("GET", "/api/v1/teams", R.manager),
    Route("POST", "/api/v1/teams", R.manager, lambda w, o, a: {"json": {"name": f"T {uuid.uuid4().hex[:8]}"}}),
    Route("GET", "/api/v1/teams/{team_id}/members", R.manager),
    Route("PUT", "/api/v1/teams/{team_id}/members/{user_id}", R.manager, ids={"user_id": "member_id"},
          fresh=frozenset({"user_id"})),
    Route("DELETE", "/api/v1/teams/{team_id}/members/{user_id}", R.manager, ids={"user_id": "team_member_id"},
          fresh=frozenset({"user_id"})),
    Route("PUT", "/api/v1/members/{user_id}/skills", R.manager, _json({"skills": ["german"]}),
          ids={"user_id": "member_id"}, fresh=frozenset({"user_id"}), vendor=R.manager),
    Route("GET", "/api/v1/projects/{project_id}/routing", R.manager),
    Route("PUT", "/api/v1/projects/{project_id}/routing", R.manager, _routing),
    Route("POST", "/api/v1/projects/{project_id}/reroute", R.manager,
          lambda w, o, a: {"json": {"from": o.ids["team_id"], "to": None}}),
    Route("GET", "/api/v1/projects/{project_id}/scorecards", R.manager, vendor=R.manager, vendor_sees=True),
]


def expected(route: Route, principal: str, role: Role | None, target: str) -> int | str:
    """The outcome the matrix expects: OK or a status code."""
    table = route.own if target == "own" else route.other
    if principal in table:
        return table[principal]
    if route.needs == PUBLIC:
        return route.success
    if role is None:
        return 401
    if principal.startswith("vendor_"):
        if route.vendor is None or _rank(role) < _rank(route.vendor):
            return 403
        if target == "other" or (route.parameters and not route.vendor_sees):
            return 404
        return route.success
    if route.needs == ADMIN:
        return 403
    assert isinstance(route.needs, Role)
    if _rank(role) < _rank(route.needs):
        return 403
    return route.success if target == "own" else 404


def _rank(role: Role) -> int:
    return RANK[role]

