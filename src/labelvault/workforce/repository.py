"""Every query of the workforce domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from labelvault.annotations.models import Annotation
from labelvault.db.scope import scoped
from labelvault.items.models import Item
from labelvault.workforce.models import RoutingRule, TeamMember, Workforce

# Items a routing change may move: still open and held by nobody at the moment.
PENDING_STATES = ("new", "in_progress")


def workforce(session: Session, organization_id: str, workforce_id: str) -> Workforce | None:
    stmt = scoped(select(Workforce), Workforce, organization_id).where(Workforce.id == workforce_id)
    return session.scalars(stmt).first()


def review_percent(session: Session, organization_id: str, vendor_id: str) -> int:
    stmt = scoped(select(Workforce.review_percent), Workforce, organization_id).where(Workforce.id == vendor_id)
    return int(session.scalar(stmt) or 0)


def workforces(session: Session, organization_id: str, kind: str | None = None,
               only_id: str | None = None) -> Sequence[Workforce]:
    stmt = scoped(select(Workforce), Workforce, organization_id)
    if kind is not None:
        stmt = stmt.where(Workforce.kind == kind)
    if only_id is not None:
        stmt = stmt.where(Workforce.id == only_id)
    return session.scalars(stmt.order_by(Workforce.kind, Workforce.name)).all()


def add(session: Session, row: Workforce | TeamMember | RoutingRule) -> None:
    session.add(row)


def team_member(session: Session, organization_id: str, team_id: str, user_id: str) -> TeamMember | None:
    stmt = scoped(select(TeamMember), TeamMember, organization_id).where(
        TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    return session.scalars(stmt).first()


def delete_team_member(session: Session, row: TeamMember) -> None:
    session.delete(row)


def team_members(session: Session, organization_id: str, team_id: str) -> list[str]:
    stmt = scoped(select(TeamMember.user_id), TeamMember, organization_id).where(TeamMember.team_id == team_id)
    return list(session.scalars(stmt.order_by(TeamMember.user_id)))


def teams_of(session: Session, organization_id: str, user_id: str) -> list[str]:
    stmt = (scoped(select(TeamMember.team_id), TeamMember, organization_id)
            .join(Workforce, Workforce.id == TeamMember.team_id)
            .where(TeamMember.user_id == user_id, Workforce.revoked_at.is_(None)))
    return sorted(session.scalars(stmt))


def rules(session: Session, organization_id: str, project_id: str) -> Sequence[RoutingRule]:
    stmt = scoped(select(RoutingRule), RoutingRule, organization_id).where(RoutingRule.project_id == project_id)
    return session.scalars(stmt.order_by(RoutingRule.position)).all()


def delete_rules(session: Session, organization_id: str, project_id: str) -> None:
    session.execute(delete(RoutingRule).where(RoutingRule.organization_id == organization_id,
                                              RoutingRule.project_id == project_id))


def projects_routed_to(session: Session, organization_id: str, workforce_id: str,
                       project_id: str | None = None) -> set[str]:
    """The projects whose rules route to the team or vendor, or that have open items in its pools (moved there
    by a re-route); with `project_id`, only whether that one does (the set holds at most it)."""
    rules = scoped(select(RoutingRule.project_id), RoutingRule, organization_id).where(
        RoutingRule.workforce_id == workforce_id)
    pooled = scoped(select(Item.project_id).distinct(), Item, organization_id).where(
        Item.state.in_(PENDING_STATES), (Item.pool == workforce_id) | Item.pool.startswith(workforce_id + "/"))
    if project_id is not None:
        rules, pooled = rules.where(RoutingRule.project_id == project_id), pooled.where(Item.project_id == project_id)
        found = set(session.scalars(rules.limit(1)))
        return found or set(session.scalars(pooled.limit(1)))
    return set(session.scalars(rules)) | set(session.scalars(pooled))


def pending_items(session: Session, organization_id: str, project_id: str, after: str,
                  limit: int) -> Sequence[tuple[str, str, dict[str, object]]]:
    """(id, pool, metadata) of open items nobody holds, by id, after `after`."""
    stmt = (scoped(select(Item.id, Item.pool, Item.meta), Item, organization_id)
            .where(Item.project_id == project_id, Item.state.in_(PENDING_STATES), Item.leased == 0,
                   Item.id > after)
            .order_by(Item.id).limit(limit))
    return [(i, p, m) for i, p, m in session.execute(stmt).all()]


def set_pool(session: Session, organization_id: str, pools: dict[str, list[str]]) -> None:
    """Move items to pools: pool -> item ids."""
    for pool, item_ids in pools.items():
        session.execute(update(Item).where(Item.organization_id == organization_id, Item.id.in_(item_ids))
                        .values(pool=pool).execution_options(synchronize_session=False))


def move_pending(session: Session, organization_id: str, project_id: str, source_pools: list[str],
                 target: str) -> int:
    """Move the open items nobody holds from the source pools to `target`; how many moved."""
    result = session.execute(
        update(Item).where(Item.organization_id == organization_id, Item.project_id == project_id,
                           Item.pool.in_(source_pools), Item.state.in_(PENDING_STATES), Item.leased == 0)
        .values(pool=target).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def pools_in_use(session: Session, organization_id: str, project_id: str, workforce_id: str) -> list[str]:
    stmt = (scoped(select(Item.pool).distinct(), Item, organization_id)
            .where(Item.project_id == project_id, Item.state.in_(PENDING_STATES),
                   (Item.pool == workforce_id) | Item.pool.startswith(workforce_id + "/")))
    return list(session.scalars(stmt))


def delete_vendor_rules(session: Session, organization_id: str, vendor_id: str) -> None:
    session.execute(delete(RoutingRule).where(RoutingRule.organization_id == organization_id,
                                              RoutingRule.workforce_id == vendor_id))


def workforce_ids_of_project(session: Session, organization_id: str, project_id: str) -> set[str]:
    """The teams and vendors a project refers to: in its rules, its items' pools and its annotations."""
    found = {w for w in session.scalars(scoped(select(RoutingRule.workforce_id), RoutingRule, organization_id)
                                        .where(RoutingRule.project_id == project_id)) if w}
    pools = scoped(select(Item.pool).distinct(), Item, organization_id).where(Item.project_id == project_id)
    found |= {pool.partition("/")[0] for pool in session.scalars(pools) if pool.partition("/")[0]}
    vendors = scoped(select(Annotation.vendor_id).distinct(), Annotation, organization_id).where(
        Annotation.project_id == project_id)
    found |= {v for v in session.scalars(vendors) if v}
    return found


def workforce_id_taken(session: Session, workforce_id: str) -> bool:
    # unscoped: whether any organization of this instance holds the id (a restore keeps ids when it can).
    return session.scalar(select(exists().where(Workforce.id == workforce_id))) or False
