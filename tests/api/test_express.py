"""Express serves next item and submit with the answers FastAPI gives for the same requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelvault.api import express
from labelvault.api.context import AppContext
from labelvault.app import create_app
from labelvault.config import Settings
from labelvault.testing import TEXT_SCHEMA, Actor, api_project

MISSING_ITEM = "0190a0a0-0000-7000-8000-000000000000"


@pytest.fixture
def plain(settings: Settings, ctx: AppContext) -> Iterator[TestClient]:
    """The same app with Express off: FastAPI serves every route."""
    with TestClient(create_app(settings.model_copy(update={"express_routes": False}), context=ctx)) as test_client:
        yield test_client


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths Express answered itself."""
    paths: list[str] = []
    original = express.ExpressRoute.serve

    async def counted(self: express.ExpressRoute, request: Any) -> Any:
        paths.append(request.url.path)
        return await original(self, request)

    monkeypatch.setattr(express.ExpressRoute, "serve", counted)
    return paths


def _answer(response: Any) -> tuple[int, Any, dict[str, str]]:
    headers = {name: response.headers.get(name) for name in
               ("content-type", "x-content-type-options", "referrer-policy", "idempotent-replayed")}
    body = response.json() if response.content else None
    return response.status_code, body, headers


def _both(client: TestClient, plain: TestClient, method: str, url: str, **kwargs: Any) -> tuple[Any, Any]:
    return _answer(client.request(method, url, **kwargs)), _answer(plain.request(method, url, **kwargs))


def test_bad_requests_get_the_same_answers(client: TestClient, plain: TestClient, owner: Actor, ctx: AppContext,
                                           served: list[str]) -> None:
    project_id = api_project(client, owner, TEXT_SCHEMA, [{"data": {"text": "one"}}], ctx.runner)
    item_id = client.post(f"/api/v1/projects/{project_id}/next", headers=owner.headers).json()["item"]["id"]
    submit = f"/api/v1/items/{item_id}/annotations"
    served.clear()
    json_type = {"content-type": "application/json"}
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/api/v1/projects/{project_id}/next", {}),
        ("POST", f"/api/v1/projects/{project_id}/next", {"headers": {"authorization": "Basic abc"}}),
        ("POST", f"/api/v1/projects/{project_id}/next", {"headers": {"authorization": "Bearer lv_wrong"}}),
        ("POST", f"/api/v1/projects/{MISSING_ITEM}/next", {"headers": owner.headers}),
        ("POST", submit, {"json": {"answers": {"sentiment": "positive"}}}),
        ("POST", submit, {"content": b"{bad", "headers": json_type}),
        ("POST", submit, {"content": b"{bad", "headers": {**owner.headers, **json_type}}),
        ("POST", submit, {"content": b'{"answers": 1}',
                          "headers": {**owner.headers, "content-type": "application/json; charset=utf-8"}}),
        ("POST", submit, {"content": b'{"answers": [}', "headers": {**owner.headers,
                                                                   "content-type": "application/ld+json"}}),
        ("POST", submit, {"headers": owner.headers}),
        ("POST", submit, {"json": {"answers": "positive", "time_spent_ms": -1}, "headers": owner.headers}),
        ("POST", submit, {"content": b'{"answers": {}}', "headers": {**owner.headers, "content-type": "text/plain"}}),
        ("POST", submit, {"json": {"answers": {"sentiment": "maybe"}}, "headers": owner.headers}),
        ("POST", f"/api/v1/items/{MISSING_ITEM}/annotations", {"json": {"answers": {}}, "headers": owner.headers}),
        ("GET", f"/api/v1/projects/{project_id}/next", {"headers": owner.headers}),
    ]
    for method, url, kwargs in cases:
        fast, slow = _both(client, plain, method, url, **kwargs)
        assert fast == slow, (method, url, kwargs)
        assert fast[0] >= 400
    assert len(served) == len(cases) - 1  # all but the GET, which is not the route's method


def test_a_labeling_cycle_answers_the_same(client: TestClient, plain: TestClient, owner: Actor, ctx: AppContext,
                                           served: list[str]) -> None:
    project_id = api_project(client, owner, TEXT_SCHEMA, [{"data": {"text": "one"}}], ctx.runner)
    fast = client.post(f"/api/v1/projects/{project_id}/next", headers=owner.headers)
    slow = plain.post(f"/api/v1/projects/{project_id}/next", headers=owner.headers)
    assert fast.status_code == slow.status_code == 200
    assert fast.json()["lease"]["id"] == slow.json()["lease"]["id"]  # the same lease, renewed
    assert fast.json()["item"] == slow.json()["item"]
    item_id = fast.json()["item"]["id"]
    headers = {**owner.headers, "Idempotency-Key": "cycle-1"}
    body = {"answers": {"sentiment": "positive"}, "time_spent_ms": 1200}
    first = client.post(f"/api/v1/items/{item_id}/annotations", json=body, headers=headers)
    again = plain.post(f"/api/v1/items/{item_id}/annotations", json=body, headers=headers)
    assert first.status_code == 201
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert first.json() == again.json()
    assert first.headers["x-content-type-options"] == "nosniff"
    assert _answer(client.post(f"/api/v1/projects/{project_id}/next", headers=owner.headers)) == \
        _answer(plain.post(f"/api/v1/projects/{project_id}/next", headers=owner.headers))  # 204: nothing left
    assert served == [f"/api/v1/projects/{project_id}/next", f"/api/v1/items/{item_id}/annotations",
                      f"/api/v1/projects/{project_id}/next"]


def test_a_route_it_cannot_serve_is_refused_when_the_app_is_built() -> None:
    from fastapi import APIRouter, Query

    router = APIRouter()

    @router.get("/things")
    async def things(limit: int = Query(10)) -> dict[str, int]:
        return {"limit": limit}

    with pytest.raises(TypeError, match="cannot be served"):
        express.Express(app=None, routes=[express.route_of(router, things)])  # type: ignore[arg-type]


def test_a_body_that_is_not_json_is_reported_with_where_it_breaks(client: TestClient, plain: TestClient,
                                                                   owner: Actor, ctx: AppContext) -> None:
    project_id = api_project(client, owner, TEXT_SCHEMA, [{"data": {"text": "one"}}], ctx.runner)
    item_id = client.post(f"/api/v1/projects/{project_id}/next", headers=owner.headers).json()["item"]["id"]
    body = b'{"answers": {"sentiment": "positive"},\n "time_spent_ms": 12,,}'
    headers = {**owner.headers, "content-type": "application/json"}
    for each in (client, plain):
        answer = each.post(f"/api/v1/items/{item_id}/annotations", content=body, headers=headers)
        assert answer.status_code == 422
        problem = answer.json()["details"]["problems"][0]
        assert problem["field"] == "body"
        assert "not valid JSON" in problem["reason"] and "(line 2, column 22)" in problem["reason"]
        assert answer.json()["message"] == f"body: {problem['reason']}"
