"""HTTP routes of the workforce domain: teams, vendors, skills, routing rules, re-routing, offboarding."""

from __future__ import annotations

from fastapi import APIRouter

from labelvault.accounts import service as accounts
from labelvault.api.deps import DB, CanInvite, CanManageWorkforce, CanReadWorkforce, CanSetVendorReview
from labelvault.ledger import exposure
from labelvault.ledger.recording import Recorder
from labelvault.projects import service as projects
from labelvault.workforce import offboarding, scorecards, service
from labelvault.workforce.models import WorkforceKind
from labelvault.workforce.schemas import (
    RerouteIn,
    RerouteOut,
    RevokeOut,
    RoutingIn,
    RoutingOut,
    RuleOut,
    ScorecardsOut,
    SkillsIn,
    TeamMembersOut,
    VendorReviewIn,
    WorkforceIn,
    WorkforceOut,
)

router = APIRouter(prefix="/api/v1", tags=["workforce"])


@router.get("/vendors", response_model=list[WorkforceOut])
def list_vendors(principal: CanReadWorkforce, session: DB) -> list[WorkforceOut]:
    """The organization's vendors (a vendor's manager sees only their own vendor)."""
    return [WorkforceOut.model_validate(w) for w in service.list_workforces(session, principal, WorkforceKind.vendor)]


@router.post("/vendors", response_model=WorkforceOut, status_code=201)
def create_vendor(body: WorkforceIn, principal: CanManageWorkforce, session: DB, ledger: Recorder) -> WorkforceOut:
    """Add a vendor: then invite its first manager (POST /invitations with `vendor_id`) and route work to it."""
    vendor = service.create_workforce(session, principal, WorkforceKind.vendor, body.name)
    ledger.permission(principal, principal.organization_id, {"vendor_created": vendor.id, "name": vendor.name})
    return WorkforceOut.model_validate(vendor)


@router.patch("/vendors/{vendor_id}", response_model=WorkforceOut)
def set_vendor_review(vendor_id: str, body: VendorReviewIn, principal: CanSetVendorReview, session: DB,
                      ledger: Recorder) -> WorkforceOut:
    """Set the vendor's internal review: the share of its people's submitted work that its own reviewers check
    before the work goes on to your review (a vendor's manager: for their own vendor)."""
    vendor = service.set_vendor_review(session, principal, vendor_id, body.review_percent)
    ledger.permission(principal, principal.organization_id,
                      {"vendor_review_set": vendor.id, "review_percent": vendor.review_percent})
    return WorkforceOut.model_validate(vendor)


@router.post("/vendors/{vendor_id}/revoke", response_model=RevokeOut)
def revoke_vendor(vendor_id: str, principal: CanManageWorkforce, session: DB, ledger: Recorder) -> RevokeOut:
    """Drop a vendor now: its people's tokens and sessions stop, their leases return to the queues, their
    drafts stay with you, its pending items come back to your own people. Download the exposure report from
    the link in the answer."""
    done = offboarding.revoke_vendor(session, principal, vendor_id)
    seen = exposure.actor_exposure(session, principal, vendor_id=done.vendor.id)
    ledger.permission(principal, principal.organization_id,
                      {"vendor_revoked": done.vendor.id, "people": done.people,
                       "leases_released": done.leases_released, "items_returned": done.items_returned})
    return RevokeOut(vendor=WorkforceOut.model_validate(done.vendor), people=done.people,
                     leases_released=done.leases_released, items_returned=done.items_returned,
                     exposure_items=len({(row.project_id, row.item_id) for row in seen if row.item_id != "*"}),
                     exposure_report=f"/api/v1/exposure/vendors/{done.vendor.id}?format=csv")


@router.get("/teams", response_model=list[WorkforceOut])
def list_teams(principal: CanManageWorkforce, session: DB) -> list[WorkforceOut]:
    return [WorkforceOut.model_validate(w) for w in service.list_workforces(session, principal, WorkforceKind.team)]


@router.post("/teams", response_model=WorkforceOut, status_code=201)
def create_team(body: WorkforceIn, principal: CanManageWorkforce, session: DB) -> WorkforceOut:
    """Add a team of your own people (routing rules can send items to it)."""
    return WorkforceOut.model_validate(service.create_workforce(session, principal, WorkforceKind.team, body.name))


@router.get("/teams/{team_id}/members", response_model=TeamMembersOut)
def team_members(team_id: str, principal: CanManageWorkforce, session: DB) -> TeamMembersOut:
    return TeamMembersOut(team_id=team_id, user_ids=service.team_member_ids(session, principal, team_id))


@router.put("/teams/{team_id}/members/{user_id}", status_code=204)
def add_team_member(team_id: str, user_id: str, principal: CanManageWorkforce, session: DB,
                    ledger: Recorder) -> None:
    service.add_to_team(session, principal, team_id, user_id)
    ledger.permission(principal, principal.organization_id, {"team": team_id, "added": user_id})


@router.delete("/teams/{team_id}/members/{user_id}", status_code=204)
def remove_team_member(team_id: str, user_id: str, principal: CanManageWorkforce, session: DB,
                       ledger: Recorder) -> None:
    service.remove_from_team(session, principal, team_id, user_id)
    ledger.permission(principal, principal.organization_id, {"team": team_id, "removed": user_id})


@router.put("/members/{user_id}/skills", response_model=SkillsIn)
def set_skills(user_id: str, body: SkillsIn, principal: CanInvite, session: DB, ledger: Recorder) -> SkillsIn:
    """Say what a member is qualified for (a vendor's manager: for the vendor's own people)."""
    member = accounts.set_skills(session, principal, user_id, body.skills)
    ledger.permission(principal, principal.organization_id, {"skills_of": user_id, "skills": member.skills})
    return SkillsIn(skills=member.skills)


@router.get("/projects/{project_id}/routing", response_model=RoutingOut)
def get_routing(project_id: str, principal: CanManageWorkforce, session: DB) -> RoutingOut:
    project = projects.get_project(session, principal, project_id)
    return RoutingOut(rules=[RuleOut.model_validate(r) for r in service.routing_rules(session, project)])


@router.put("/projects/{project_id}/routing", response_model=RoutingOut)
def set_routing(project_id: str, body: RoutingIn, principal: CanManageWorkforce, session: DB,
                ledger: Recorder) -> RoutingOut:
    """Replace the project's routing rules (first match wins; items matching none stay with your own
    people) and route its pending items by them again."""
    project = projects.get_project(session, principal, project_id)
    rules = [service.RuleIn(workforce_id=r.workforce_id, match=r.match, skill=r.skill, name=r.name)
             for r in body.rules]
    moved = service.set_routing(session, principal, project, rules)
    ledger.permission(principal, principal.organization_id,
                      {"routing_of": project.id, "rules": [r.model_dump() for r in body.rules], "moved": moved})
    return RoutingOut(rules=[RuleOut.model_validate(r) for r in service.routing_rules(session, project)],
                      items_moved=moved)


@router.post("/projects/{project_id}/reroute", response_model=RerouteOut)
def reroute(project_id: str, body: RerouteIn, principal: CanManageWorkforce, session: DB,
            ledger: Recorder) -> RerouteOut:
    """Move the project's pending items (open, held by nobody) from one team or vendor to another."""
    project = projects.get_project(session, principal, project_id)
    moved = service.reroute(session, principal, project, body.from_workforce_id, body.to_workforce_id)
    ledger.permission(principal, principal.organization_id,
                      {"rerouted": project.id, "from": body.from_workforce_id, "to": body.to_workforce_id,
                       "moved": moved})
    return RerouteOut(items_moved=moved)


@router.get("/projects/{project_id}/scorecards", response_model=ScorecardsOut)
def project_scorecards(project_id: str, principal: CanReadWorkforce, session: DB) -> ScorecardsOut:
    """Scorecards per annotator and per vendor from the last quality report (a vendor's manager: their own
    people and vendor only)."""
    project = projects.get_project(session, principal, project_id)
    found = scorecards.project_scorecards(session, principal, project)
    return ScorecardsOut(computed_at=found.computed_at, annotators=found.annotators, vendors=found.vendors)
