"""A routed project: two vendors and the organization's own people share one project."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from labelvault.accounts.models import Role
from labelvault.testing import VENDOR_SCHEMA, Actor, api_item_ids, api_project, api_route, api_vendor, vendor_items


@dataclass
class Routed:
    project_id: str
    vendor_a: str
    vendor_b: str
    a_annotator: Actor
    b_annotator: Actor
    in_house: Actor
    ids: dict[str, str]  # external id -> item id


@pytest.fixture
def routed(client, ctx, owner, member_of) -> Routed:  # type: ignore[no-untyped-def]
    project_id = api_project(client, owner, VENDOR_SCHEMA, vendor_items(), ctx.runner)
    vendor_a, vendor_b = api_vendor(client, owner, "Acme Labeling"), api_vendor(client, owner, "Beta Data")
    api_route(client, owner, project_id, [
        {"workforce_id": vendor_a, "match": {"metadata": {"lang": "de"}}},
        {"workforce_id": vendor_b, "match": {"metadata": {"lang": ["en"]}}},
    ])
    return Routed(project_id, vendor_a, vendor_b, member_of(owner, Role.annotator, vendor_a),
                  member_of(owner, Role.annotator, vendor_b), member_of(owner, Role.annotator),
                  api_item_ids(client, owner, project_id))
