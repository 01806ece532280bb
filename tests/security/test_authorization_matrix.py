"""The authorization matrix (tests/security/matrix.py) run in full against the real app: every route, as every
kind of principal of organization A, on A's object and on its twin in organization B.

A denial on B's object must be indistinguishable from "not found": the same status and body as for an id that
names nothing.
"""

from __future__ import annotations

import re
import uuid

import pytest
from tests.security.matrix import OK, ROUTES, Route, expected
from tests.security.test_routes_authorized import _api_routes
from tests.security.world import PRINCIPALS, Org, World, build_world

UNKNOWN = "0190a0a0-0000-7000-8000-00000000dead"


def _app_route_keys(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {f"{method} {re.sub(r':path}', '}', r.path)}" for r in _api_routes(app) for method in r.methods
            if method != "HEAD"}


def test_every_route_has_a_matrix_row(client):
    routes = _app_route_keys(client.app)
    rows = [r.key for r in ROUTES]
    assert len(rows) == len(set(rows)), "a route has two rows"
    assert sorted(routes - set(rows)) == [], "routes without a row in tests/security/matrix.py"
    assert sorted(set(rows) - routes) == [], "rows for routes the app no longer has"


@pytest.fixture
def world(client, factory, ctx) -> World:
    return build_world(client, factory, ctx.runner)


def _url(world: World, route: Route, org: Org, *, unknown: bool = False) -> str:
    url = route.path
    for name in route.parameters:
        source = route.ids.get(name, name)
        if unknown and name != "path":
            value = UNKNOWN if name != "secret" else uuid.uuid4().hex
        elif name in route.fresh:
            value = world.fresh(org, source)
        else:
            value = org.ids[source]
        url = re.sub(r"\{" + name + r"(:[^}]*)?\}", value, url)
    return url


def _outcome(status: int) -> int | str:
    return OK if 200 <= status < 300 else status


def _shape(response, *ids: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Status and body with the ids that were asked for blanked out."""
    body = response.text
    for value in ids:
        body = body.replace(value, "<id>")
    return response.status_code, body


def _check(world: World, route: Route, actors: dict[str, object]) -> list[str]:
    a, b = world.orgs["A"], world.orgs["B"]
    wrong: list[str] = []
    for kind in PRINCIPALS:
        actor = actors[kind.name]
        targets = [("own", a), ("other", b)] if route.foreign else [("own", a)]
        for target, org in targets:
            want = expected(route, kind.name, kind.role, target)
            url = _url(world, route, org)
            response = world.call(route.method, url, actor, **route.body(world, a, actor))
            got = _outcome(response.status_code)
            if got != want:
                wrong.append(f"{route.key}: {kind.name} on {target}: expected {want}, got {got} "
                             f"{response.text[:160]}")
                continue
            if target == "other" and got != OK:
                # Indistinguishable from an id that names nothing.
                missing = world.call(route.method, _url(world, route, a, unknown=True), actor,
                                     **route.body(world, a, actor))
                foreign_ids = [v for v in b.ids.values() if v in url]
                if _shape(response, *foreign_ids) != _shape(missing, UNKNOWN):
                    wrong.append(f"{route.key}: {kind.name} on other: {response.status_code} {response.text[:160]} "
                                 f"differs from an unknown id's {missing.status_code} {missing.text[:160]}")
    return wrong


@pytest.mark.slow
def test_the_matrix_holds_for_every_route_principal_and_organization(world):
    """One world for the whole walk (routes that use up their object get a fresh one per call)."""
    actors = {kind.name: kind.make(world, world.orgs["A"]) for kind in PRINCIPALS}
    wrong = [line for route in ROUTES for line in _check(world, route, actors)]
    assert wrong == [], f"{len(wrong)} outcomes differ from tests/security/matrix.py:\n" + "\n".join(wrong)
