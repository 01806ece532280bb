"""Twin organizations, each with its own canary string in every kind of text (item data, metadata, annotations,
review comments, gold answers, predictions, exam items, names, e-mail addresses, file names). Every principal
kind of organization A walks every GET route, on A's objects and on B's, and downloads every export format and
the bundle of A's project: no B canary may appear in any answer or file.

The walk must also see A's canary (else it would prove nothing), and new principal kinds are entries in
`tests/security/world.PRINCIPALS`.
"""

from __future__ import annotations

import io
import re
import tarfile

import pytest
import zstandard
from tests.security.matrix import ROUTES
from tests.security.test_authorization_matrix import _url
from tests.security.world import PRINCIPALS, World, build_world

from labelvault.testing import render_export


@pytest.fixture
def world(client, factory, ctx) -> World:
    return build_world(client, factory, ctx.runner)


def _seen(content: bytes) -> str:
    return content.decode("utf-8", "replace").lower()


def _unpack_bundle(content: bytes) -> bytes:
    """Every member of a .tar.zst bundle, concatenated."""
    raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(content)).read()
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        return b"".join(archive.extractfile(m).read() for m in archive.getmembers() if m.isfile())  # type: ignore[union-attr]


def _download(world: World, actor, job_id: str) -> bytes:  # type: ignore[no-untyped-def]
    world.runner.run_until_idle()
    job = world.ok("GET", f"/api/v1/jobs/{job_id}", actor)
    assert job["state"] == "succeeded", job
    response = world.call("GET", f"/api/v1/exports/{job_id}/file", actor)
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.slow
def test_no_canary_of_the_twin_crosses_over(world):
    a, b = world.orgs["A"], world.orgs["B"]
    foreign = b.canary.lower()
    leaks: list[str] = []
    own_seen = 0
    reads = [r for r in ROUTES if r.method == "GET"]
    for kind in PRINCIPALS:
        actor = kind.make(world, a)
        for route in reads:
            for org in (a, b) if route.foreign else (a,):
                response = world.call("GET", _url(world, route, org), actor)
                body = _seen(response.content)
                own_seen += a.canary.lower() in body
                if foreign in body:
                    leaks.append(f"{kind.name}: GET {route.path} on {org.name}'s object ({response.status_code})")
    assert leaks == [], "B's canary reached A's principals:\n" + "\n".join(leaks)
    assert own_seen > 20, "the walk did not see A's own content"


@pytest.mark.slow
def test_no_export_or_bundle_of_one_organization_holds_the_other_s_canary(world):
    a, b = world.orgs["A"], world.orgs["B"]
    project = a.ids["project_id"]
    formats = [f["name"] for f in world.ok("GET", "/api/v1/export-formats", a.owner)]
    assert len(formats) >= 10
    exported = 0
    for name in formats:
        started = world.call("POST", f"/api/v1/projects/{project}/exports", a.owner, json={"format": name})
        if started.status_code == 422:  # a format that cannot hold this project's questions
            continue
        assert started.status_code == 202, started.text
        content = render_export(name, _download(world, a.owner, started.json()["id"]))
        assert b.canary.lower() not in _seen(content), name
        assert a.canary.lower() in _seen(content) or name in {"conll", "spacy_docbin", "coco", "yolo", "voc"}, name
        exported += 1
    assert exported >= 6
    bundle = world.ok("POST", f"/api/v1/projects/{project}/bundles", a.owner)
    content = _unpack_bundle(_download(world, a.owner, bundle["id"]))
    assert a.canary.lower() in _seen(content)
    assert b.canary.lower() not in _seen(content)


@pytest.mark.slow
def test_a_vendor_sees_nothing_of_its_own_organization_that_is_not_routed_to_it(world):
    """The owner's own content (items not routed to the vendor, annotations, review comments, gold answers,
    predictions, metadata) never reaches a vendor's people of the same organization; its routed items do."""
    a = world.orgs["A"]
    canary = a.canary.lower()
    in_house_text = re.compile(r"(?<!vendor )text \d+ of " + re.escape(canary))
    markers = [f"{kind} {canary}" for kind in ("note", "gold", "prediction", "comment", "meta")]
    leaks: list[str] = []
    routed_seen = 0
    vendors = [kind for kind in PRINCIPALS if kind.name.startswith("vendor_")]
    assert vendors
    for kind in vendors:
        actor = kind.make(world, a)
        for route in [r for r in ROUTES if r.method == "GET"]:
            response = world.call("GET", _url(world, route, a), actor)
            body = _seen(response.content)
            routed_seen += f"vendor text 0 of {canary}" in body
            found = [m for m in markers if m in body] + in_house_text.findall(body)
            if found:
                leaks.append(f"{kind.name}: GET {route.path} ({response.status_code}): {found[:3]}")
    assert leaks == [], "the owner's content reached a vendor:\n" + "\n".join(leaks)
    assert routed_seen > 0, "the walk did not see the vendor's own items"
