"""Every route of the app goes through the policy layer: a credential check or an explicit public marker."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from labelvault.accounts.models import Role
from labelvault.security.policy import LOWEST_ROLE, RANK, Action


def _policy_of(dependant) -> list[object]:  # type: ignore[no-untyped-def]
    found = []
    for dep in dependant.dependencies:
        marker = getattr(dep.call, "__policy__", None)
        if marker is not None:
            found.append(marker)
        found.extend(_policy_of(dep))
    return found


def _api_routes(app) -> list:  # type: ignore[no-untyped-def]
    """Every API route with its effective path, methods and dependencies (included routers flattened)."""
    routes = []
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            routes.extend(contexts() if callable(contexts) else contexts)
        elif isinstance(route, APIRoute):
            routes.append(route)
    return routes


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0190a0a0-0000-7000-8000-000000000000", path)


def test_every_route_declares_exactly_one_policy(client):
    routes = _api_routes(client.app)
    assert len(routes) > 20
    missing = [f"{sorted(r.methods)} {r.path}" for r in routes if not _policy_of(r.dependant)]
    assert missing == [], f"routes without a policy dependency: {missing}"
    ambiguous = [r.path for r in routes if len(set(map(str, _policy_of(r.dependant)))) > 1]
    assert ambiguous == []


def test_non_public_routes_refuse_anonymous_callers(client):
    checked = 0
    for route in _api_routes(client.app):
        policies = _policy_of(route.dependant)
        if all(str(p).startswith("public:") for p in policies):
            continue
        for method in route.methods:
            response = client.request(method, _concrete(route.path))
            assert response.status_code == 401, f"{method} {route.path} answered {response.status_code}"
            assert response.json()["code"] == "not_authenticated"
            checked += 1
    assert checked > 20


def test_public_routes_are_only_the_expected_ones(client):
    public = sorted(r.path for r in _api_routes(client.app)
                    if all(str(p).startswith("public:") for p in _policy_of(r.dependant)))
    assert public == ["/api/v1/auth/login", "/api/v1/invitations/{secret}/accept", "/healthz", "/invite/{secret}",
                      "/invite/{secret}", "/metrics", "/readyz",
                      "/sign-in", "/sign-in"]


@pytest.mark.parametrize("role", [Role.annotator, Role.reviewer, Role.manager])
def test_roles_below_an_action_get_403_on_its_routes(client, owner, member_of, role):
    actor = member_of(owner, role)
    checked = 0
    for route in _api_routes(client.app):
        for policy in _policy_of(route.dependant):
            if not isinstance(policy, Action) or policy not in LOWEST_ROLE:
                continue
            if RANK[LOWEST_ROLE[policy]] <= RANK[role]:
                continue
            for method in route.methods:
                response = client.request(method, _concrete(route.path), headers=actor.headers)
                assert response.status_code == 403, f"{role} {method} {route.path}: {response.status_code}"
                assert response.json()["code"] == "forbidden"
                checked += 1
    if role is not Role.manager:
        assert checked > 0


def test_admin_only_routes_refuse_an_owner_who_is_not_admin(client, owner):
    assert client.get("/api/v1/organizations", headers=owner.headers).status_code == 403
