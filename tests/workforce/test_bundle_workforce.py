"""An exit bundle carries the project's routing: its teams and vendors, their people, rules and pools."""

from __future__ import annotations

from sqlalchemy import select

from labelvault.accounts.models import Membership, Role
from labelvault.annotations.models import Annotation
from labelvault.db.engine import build_engine
from labelvault.db.migrate import upgrade
from labelvault.exports.restore import restore_file
from labelvault.items.models import Item
from labelvault.testing import another_instance, fresh_database
from labelvault.workforce.models import RoutingRule, TeamMember, Workforce


def test_routing_vendors_teams_and_pools_travel_in_the_bundle(client, ctx, owner, routed, member_of, db_kind,
                                                              pg_admin_url, tmp_path):
    team = client.post("/api/v1/teams", json={"name": "Core"}, headers=owner.headers).json()["id"]
    expert = member_of(owner, Role.annotator)
    client.put(f"/api/v1/teams/{team}/members/{expert.user_id}", headers=owner.headers)
    client.put(f"/api/v1/members/{routed.a_annotator.user_id}/skills", json={"skills": ["german"]},
               headers=owner.headers)
    client.patch(f"/api/v1/vendors/{routed.vendor_a}", json={"review_percent": 35}, headers=owner.headers)
    client.put(f"/api/v1/projects/{routed.project_id}/routing", headers=owner.headers, json={"rules": [
        {"workforce_id": routed.vendor_a, "match": {"metadata": {"lang": "de"}}, "skill": "german"},
        {"workforce_id": team, "match": {"metadata": {"lang": "fr"}}}]})
    item = client.post(f"/api/v1/projects/{routed.project_id}/next", headers=routed.a_annotator.headers).json()["item"]
    assert client.post(f"/api/v1/items/{item['id']}/annotations", json={"answers": {"sentiment": "pos"}},
                       headers=routed.a_annotator.headers).status_code == 201
    started = client.post(f"/api/v1/projects/{routed.project_id}/bundles", headers=owner.headers).json()
    ctx.runner.run_until_idle()
    bundle = tmp_path / "p.tar.zst"
    bundle.write_bytes(client.get(f"/api/v1/exports/{started['id']}/file", headers=owner.headers).content)
    with ctx.factory() as session:
        pools = dict(session.execute(select(Item.external_id, Item.pool)).all())
    other = "postgresql" if db_kind == "sqlite" else "sqlite"
    with fresh_database(other, tmp_path, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        try:
            factory, media = another_instance(engine, tmp_path / "other")
            restored = restore_file(factory, media, bundle)
            assert restored.rows["routing_rules"] == 2
            with factory() as session:
                forces = {w.name: (w.id, w.kind, w.review_percent) for w in session.scalars(select(Workforce))}
                assert forces["Acme Labeling"] == (routed.vendor_a, "vendor", 35)
                assert forces["Core"] == (team, "team", 0)
                rules = [(r.workforce_id, r.skill) for r in session.scalars(select(RoutingRule)
                                                                            .order_by(RoutingRule.position))]
                assert rules == [(routed.vendor_a, "german"), (team, None)]
                assert dict(session.execute(select(Item.external_id, Item.pool)).all()) == pools
                vendor_member = session.scalars(select(Membership).where(
                    Membership.user_id == routed.a_annotator.user_id)).one()
                assert vendor_member.vendor_id == routed.vendor_a and vendor_member.skills == ["german"]
                assert [a.vendor_id for a in session.scalars(select(Annotation))] == [routed.vendor_a]
                assert [(t.team_id, t.user_id) for t in session.scalars(select(TeamMember))] == [(team, expert.user_id)]
        finally:
            engine.dispose()
