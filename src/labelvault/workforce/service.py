"""Teams and vendors, members' skills, routing rules and what they let each person see and receive.

An item's pool says who may receive it: "" for the organization's own people, a team's or vendor's id, and
"/skill" after it when the rule that routed the item asks for a skill. A vendor's people see a project only
when one of its rules routes to their vendor, and an item only when it is in one of their vendor's pools.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from labelvault.accounts import service as accounts
from labelvault.errors import Conflict, InvalidInput, NotFound
from labelvault.kit.clock import utcnow
from labelvault.projects.models import Project
from labelvault.security.policy import Action, Principal, allowed
from labelvault.workforce import repository as repo
from labelvault.workforce.models import RoutingRule, TeamMember, Workforce, WorkforceKind

IN_HOUSE = ""
MAX_RULES = 100
REROUTE_BATCH = 2000
MATCH_KEYS = ("metadata", "tags", "split")


def pool_of(workforce_id: str | None, skill: str | None) -> str:
    return (workforce_id or IN_HOUSE) + (f"/{skill}" if skill else "")


def in_pool_of(pool: str, workforce_id: str) -> bool:
    return pool == workforce_id or pool.startswith(workforce_id + "/")


# ---- teams and vendors -------------------------------------------------------------------------------------

def create_workforce(session: Session, principal: Principal, kind: str, name: str) -> Workforce:
    if kind not in WorkforceKind.all:
        raise InvalidInput(f"kind must be one of {list(WorkforceKind.all)}.", details={"field": "kind"})
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("The name needs 1 to 200 characters.", details={"field": "name"})
    if any(w.name == name for w in repo.workforces(session, principal.organization_id, kind)):
        raise Conflict(f"A {kind} named {name!r} exists already.", code="workforce_exists",
                       details={"field": "name"})
    row = Workforce(organization_id=principal.organization_id, kind=kind, name=name)
    repo.add(session, row)
    session.flush()
    return row


def list_workforces(session: Session, principal: Principal, kind: str | None = None) -> list[Workforce]:
    """The organization's teams and vendors; a vendor's manager sees only their own vendor."""
    return list(repo.workforces(session, principal.organization_id, kind, only_id=principal.vendor_id))


def get_workforce(session: Session, principal: Principal, workforce_id: str, kind: str | None = None) -> Workforce:
    found = repo.workforce(session, principal.organization_id, workforce_id)
    if (found is None or (kind is not None and found.kind != kind)
            or (principal.vendor_id is not None and found.id != principal.vendor_id)):
        raise NotFound(kind or "workforce")
    return found


def set_vendor_review(session: Session, principal: Principal, vendor_id: str, percent: int) -> Workforce:
    """Set the share of the vendor's work its own reviewers check first; work already submitted keeps its place."""
    if not 0 <= percent <= 100:
        raise InvalidInput("review_percent must be between 0 and 100.", details={"field": "review_percent"})
    vendor = live_vendor(session, principal, vendor_id)
    vendor.review_percent = percent
    session.flush()
    return vendor


def live_vendor(session: Session, principal: Principal, vendor_id: str) -> Workforce:
    vendor = get_workforce(session, principal, vendor_id, WorkforceKind.vendor)
    if vendor.revoked_at is not None:
        raise Conflict("This vendor was revoked.", code="vendor_revoked", details={"vendor_id": vendor_id})
    return vendor


def add_to_team(session: Session, principal: Principal, team_id: str, user_id: str) -> TeamMember:
    team = get_workforce(session, principal, team_id, WorkforceKind.team)
    member = accounts.membership_of(session, principal.organization_id, user_id)
    if member is None:
        raise NotFound("member")
    if member.vendor_id is not None:
        raise InvalidInput("Teams hold the organization's own people; this member works for a vendor.",
                           details={"field": "user_id"})
    existing = repo.team_member(session, principal.organization_id, team.id, user_id)
    if existing is not None:
        return existing
    row = TeamMember(team_id=team.id, user_id=user_id, organization_id=principal.organization_id)
    repo.add(session, row)
    session.flush()
    return row


def remove_from_team(session: Session, principal: Principal, team_id: str, user_id: str) -> None:
    team = get_workforce(session, principal, team_id, WorkforceKind.team)
    row = repo.team_member(session, principal.organization_id, team.id, user_id)
    if row is None:
        raise NotFound("team member")
    repo.delete_team_member(session, row)
    session.flush()


def team_member_ids(session: Session, principal: Principal, team_id: str) -> list[str]:
    team = get_workforce(session, principal, team_id, WorkforceKind.team)
    return repo.team_members(session, principal.organization_id, team.id)


def mark_revoked(session: Session, vendor: Workforce) -> None:
    vendor.revoked_at = utcnow()
    session.flush()


# ---- routing rules -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleIn:
    workforce_id: str | None
    match: dict[str, Any]
    skill: str | None = None
    name: str = ""


Matcher = Callable[[Mapping[str, Any]], bool]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matcher(match: Mapping[str, Any]) -> Matcher:
    wanted = {key: [str(v) for v in _as_list(value)] for key, value in (match.get("metadata") or {}).items()}
    tags = {str(t) for t in match.get("tags") or []}
    split = match.get("split")

    def matches(meta: Mapping[str, Any]) -> bool:
        for key, values in wanted.items():
            if key not in meta or str(meta[key]) not in values:
                return False
        if tags and not tags.intersection(str(t) for t in _as_list(meta.get("tags") or [])):
            return False
        return split is None or str(meta.get("split")) == str(split)

    return matches


def router_of(rules: Sequence[RoutingRule]) -> Callable[[Mapping[str, Any]], str]:
    """metadata -> pool: the first rule the item matches, else the organization's own people."""
    compiled = [(_matcher(rule.match), pool_of(rule.workforce_id, rule.skill)) for rule in rules]

    def route(meta: Mapping[str, Any]) -> str:
        for matches, pool in compiled:
            if matches(meta):
                return pool
        return IN_HOUSE

    return route


def project_router(session: Session, project: Project) -> Callable[[Mapping[str, Any]], str] | None:
    """The function an import routes new items with; None for a project without rules (every item in-house)."""
    if not project.routed:
        return None
    return router_of(repo.rules(session, project.organization_id, project.id))


def _check_rule(session: Session, principal: Principal, index: int, rule: RuleIn) -> None:
    where = f"rules[{index}]"
    if not isinstance(rule.match, dict) or set(rule.match) - set(MATCH_KEYS):
        raise InvalidInput(f"{where}.match may hold only {list(MATCH_KEYS)}.", details={"field": f"{where}.match"})
    if not isinstance(rule.match.get("metadata", {}), dict):
        raise InvalidInput(f"{where}.match.metadata must map keys to a value or a list of values.",
                           details={"field": f"{where}.match.metadata"})
    if not isinstance(rule.match.get("tags", []), list):
        raise InvalidInput(f"{where}.match.tags must be a list.", details={"field": f"{where}.match.tags"})
    if rule.skill is not None and (not rule.skill.strip() or "/" in rule.skill or len(rule.skill) > 64):
        raise InvalidInput(f"{where}.skill must have 1 to 64 characters and no '/'.",
                           details={"field": f"{where}.skill"})
    if rule.workforce_id is not None:
        found = repo.workforce(session, principal.organization_id, rule.workforce_id)
        if found is None:
            raise InvalidInput(f"{where}.workforce_id: no team or vendor {rule.workforce_id!r}.",
                               details={"field": f"{where}.workforce_id"})
        if found.revoked_at is not None:
            raise InvalidInput(f"{where}.workforce_id: the vendor {found.name!r} was revoked.",
                               details={"field": f"{where}.workforce_id"})


def routing_rules(session: Session, project: Project) -> list[RoutingRule]:
    return list(repo.rules(session, project.organization_id, project.id))


def set_routing(session: Session, principal: Principal, project: Project, rules: Sequence[RuleIn]) -> int:
    """Replace the project's rules and route its pending items (open and held by nobody) by them again;
    how many items changed pool. Items being worked on keep their pool."""
    if len(rules) > MAX_RULES:
        raise InvalidInput(f"A project has at most {MAX_RULES} routing rules.", details={"field": "rules"})
    for index, rule in enumerate(rules):
        _check_rule(session, principal, index, rule)
    repo.delete_rules(session, project.organization_id, project.id)
    rows = [RoutingRule(organization_id=project.organization_id, project_id=project.id, position=position,
                        name=rule.name.strip()[:200], workforce_id=rule.workforce_id, match=rule.match,
                        skill=rule.skill.strip() if rule.skill else None)
            for position, rule in enumerate(rules)]
    for row in rows:
        repo.add(session, row)
    project.routed = bool(rows)
    session.flush()
    return _route_pending(session, project, router_of(rows))


def _route_pending(session: Session, project: Project, route: Callable[[Mapping[str, Any]], str]) -> int:
    moved = 0
    after = ""
    while True:
        batch = repo.pending_items(session, project.organization_id, project.id, after, REROUTE_BATCH)
        if not batch:
            return moved
        changes: dict[str, list[str]] = {}
        for item_id, pool, meta in batch:
            target = route(meta)
            if target != pool:
                changes.setdefault(target, []).append(item_id)
                moved += 1
        repo.set_pool(session, project.organization_id, changes)
        after = batch[-1][0]


def reroute(session: Session, principal: Principal, project: Project, source_id: str,
            target_id: str | None) -> int:
    """Move the project's pending items from one team or vendor to another (None: the organization's own
    people), keeping any skill the items ask for; how many moved. Items being worked on stay."""
    source = get_workforce(session, principal, source_id)
    if target_id is not None:
        target = get_workforce(session, principal, target_id)
        if target.revoked_at is not None:
            raise InvalidInput("The target vendor was revoked.", details={"field": "to"})
    moved = _move_pending(session, project.organization_id, project.id, source.id, target_id)
    session.flush()
    return moved


def _move_pending(session: Session, organization_id: str, project_id: str, source_id: str,
                  target_id: str | None) -> int:
    """Move the project's pending items from the source's pools to the target's, each keeping its skill."""
    moved = 0
    for pool in repo.pools_in_use(session, organization_id, project_id, source_id):
        skill = pool.partition("/")[2] or None
        moved += repo.move_pending(session, organization_id, project_id, [pool], pool_of(target_id, skill))
    return moved


def unroute_vendor(session: Session, organization_id: str, vendor_id: str) -> int:
    """Drop a revoked vendor from every project: its rules go, its pending items return to the organization's
    own people; how many items moved."""
    moved = 0
    for project_id in repo.projects_routed_to(session, organization_id, vendor_id):
        moved += _move_pending(session, organization_id, project_id, vendor_id, None)
    repo.delete_vendor_rules(session, organization_id, vendor_id)
    session.flush()
    return moved


# ---- what a person sees and receives -----------------------------------------------------------------------

def may_see_project(session: Session, principal: Principal, project: Project) -> bool:
    if principal.vendor_id is None:
        return True
    return project.routed and bool(repo.projects_routed_to(
        session, project.organization_id, principal.vendor_id, project.id))


def visible_project_ids(session: Session, principal: Principal) -> set[str] | None:
    """The projects a vendor's person may see; None for the organization's own people (all of them)."""
    if principal.vendor_id is None:
        return None
    return repo.projects_routed_to(session, principal.organization_id, principal.vendor_id)


def may_see_pool(session: Session, principal: Principal, pool: str) -> bool:
    """Whether the person may see an item of this pool: a vendor's people only their vendor's; the
    organization's own annotators the general pool and their teams' (reviewers and managers all)."""
    if principal.vendor_id is not None:
        return in_pool_of(pool, principal.vendor_id)
    owner = pool.partition("/")[0]
    if owner == IN_HOUSE or allowed(principal, Action.read_all_annotations):
        return True
    return owner in repo.teams_of(session, principal.organization_id, principal.user_id)


def team_scope(session: Session, principal: Principal) -> list[str] | None:
    """For an in-house annotator, the teams whose items they may list (besides the general pool); None when
    the person may see every in-house pool."""
    if principal.vendor_id is not None or allowed(principal, Action.read_all_annotations):
        return None
    return repo.teams_of(session, principal.organization_id, principal.user_id)


def vendor_review_percent(session: Session, organization_id: str, vendor_id: str) -> int:
    """The share of the vendor's submitted work its own reviewers check first (0 for none)."""
    return repo.review_percent(session, organization_id, vendor_id)


def pools_for(session: Session, principal: Principal, project: Project) -> list[str]:
    """The pools the person receives items from, most specific first (their teams and skills before the
    organization's general pool)."""
    if not project.routed:
        return [IN_HOUSE] if principal.vendor_id is None else []
    member = accounts.membership_of(session, principal.organization_id, principal.user_id)
    skills = list(member.skills) if member is not None else []
    if principal.vendor_id is not None:
        owners: list[str] = [principal.vendor_id]
    else:
        owners = [*repo.teams_of(session, principal.organization_id, principal.user_id), IN_HOUSE]
    return [pool_of(owner, skill) for owner in owners for skill in [*skills, None]]


# ---- exit bundles ------------------------------------------------------------------------------------------

def bundle_workforces(session: Session, organization_id: str, project_id: str) -> list[dict[str, Any]]:
    """The teams and vendors a project's bundle carries: those of its routing rules, of its items' pools and
    of its annotations' authors; a team with its members' ids."""
    wanted = repo.workforce_ids_of_project(session, organization_id, project_id)
    rows = []
    for force in repo.workforces(session, organization_id):
        if force.id in wanted:
            members = repo.team_members(session, organization_id, force.id) if force.kind == WorkforceKind.team else []
            rows.append({"id": force.id, "kind": force.kind, "name": force.name, "created_at": force.created_at,
                         "revoked_at": force.revoked_at, "review_percent": force.review_percent,
                         "members": members})
    return rows


def restore_workforces(session: Session, organization_id: str, rows: list[dict[str, Any]]) -> dict[str, str]:
    """Bundle team or vendor id -> its id here: the same team or vendor (by id, else by kind and name), or a
    new one, with the bundle's id when no other organization of this instance holds it."""
    here = {(f.kind, f.name): f for f in repo.workforces(session, organization_id)}
    mapping: dict[str, str] = {}
    for row in rows:
        found = repo.workforce(session, organization_id, row["id"]) or here.get((row["kind"], row["name"]))
        if found is None:
            found = Workforce(organization_id=organization_id, kind=row["kind"], name=row["name"],
                              revoked_at=_time(row.get("revoked_at")),
                              review_percent=int(row.get("review_percent") or 0))
            if not repo.workforce_id_taken(session, row["id"]):
                found.id = row["id"]
            repo.add(session, found)
            session.flush()
        mapping[row["id"]] = found.id
    return mapping


def restore_team_members(session: Session, organization_id: str, rows: list[dict[str, Any]],
                         forces: dict[str, str], people: dict[str, str]) -> None:
    for row in rows:
        for user_id in row.get("members", []):
            team_id, member = forces[row["id"]], people.get(user_id, user_id)
            if repo.team_member(session, organization_id, team_id, member) is None:
                repo.add(session, TeamMember(team_id=team_id, user_id=member, organization_id=organization_id))
    session.flush()


def _time(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
