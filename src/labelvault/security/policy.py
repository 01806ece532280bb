"""Who may do what: small predicates and one `authorize()` that every route calls through its dependencies."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from labelvault.accounts.models import Role
from labelvault.errors import Forbidden


class Scope(enum.StrEnum):
    """What an API token may do at most (its user's role still limits it): browser sessions are `manage`."""

    read = "read"
    annotate = "annotate"
    manage = "manage"


@dataclass(frozen=True, slots=True)
class Principal:
    """The acting person, in the one organization their credential is scoped to."""

    user_id: str
    email: str
    organization_id: str
    role: Role
    is_admin: bool
    token_id: str | None = None
    session_id: str | None = None
    scope: Scope = Scope.manage
    # The vendor the person works for here; None for the organization's own people.
    vendor_id: str | None = None


class Action(enum.StrEnum):
    read_project = "read_project"
    manage_project = "manage_project"
    read_items = "read_items"
    manage_items = "manage_items"
    annotate = "annotate"
    read_all_annotations = "read_all_annotations"
    review = "review"
    export = "export"
    read_members = "read_members"
    invite_members = "invite_members"
    manage_members = "manage_members"
    use_own_tokens = "use_own_tokens"
    manage_all_tokens = "manage_all_tokens"
    read_jobs = "read_jobs"
    read_self = "read_self"
    manage_organizations = "manage_organizations"
    read_exposure = "read_exposure"
    read_workforce = "read_workforce"
    manage_workforce = "manage_workforce"
    set_vendor_review = "set_vendor_review"


RANK = {Role.annotator: 1, Role.reviewer: 2, Role.manager: 3, Role.owner: 4}

LOWEST_ROLE: dict[Action, Role] = {
    Action.read_self: Role.annotator,
    Action.read_project: Role.annotator,
    Action.read_items: Role.annotator,
    Action.annotate: Role.annotator,
    Action.use_own_tokens: Role.annotator,
    Action.read_jobs: Role.annotator,
    Action.read_all_annotations: Role.reviewer,
    Action.review: Role.reviewer,
    Action.read_members: Role.manager,
    Action.invite_members: Role.manager,
    Action.manage_project: Role.manager,
    Action.manage_items: Role.manager,
    Action.export: Role.manager,
    Action.read_exposure: Role.manager,
    Action.read_workforce: Role.manager,
    Action.manage_workforce: Role.manager,
    Action.set_vendor_review: Role.manager,
    Action.manage_members: Role.owner,
    Action.manage_all_tokens: Role.owner,
}

ADMIN_ONLY = {Action.manage_organizations}

# A vendor's people act only within what is routed to their vendor: they never manage projects, items, exports
# or the organization's workforce, and never read the ledger. A vendor manager handles the vendor's own people
# (member routes scope them to the vendor); vendor reviewers check the vendor's own work before the owner does.
VENDOR_LOWEST_ROLE: dict[Action, Role] = {
    Action.read_self: Role.annotator,
    Action.read_project: Role.annotator,
    Action.read_items: Role.annotator,
    Action.annotate: Role.annotator,
    Action.use_own_tokens: Role.annotator,
    Action.read_all_annotations: Role.reviewer,
    Action.review: Role.reviewer,
    Action.read_members: Role.manager,
    Action.invite_members: Role.manager,
    Action.manage_members: Role.manager,
    Action.read_workforce: Role.manager,
    Action.set_vendor_review: Role.manager,  # for their own vendor only
}

# Actions a narrower token keeps. No scoped token manages tokens: it could otherwise mint a wider one.
READ_ACTIONS = frozenset({Action.read_self, Action.read_project, Action.read_items, Action.read_all_annotations,
                          Action.read_members, Action.read_jobs, Action.read_exposure, Action.export})
SCOPE_ACTIONS = {Scope.read: READ_ACTIONS, Scope.annotate: READ_ACTIONS | {Action.annotate, Action.review}}


def has_role_at_least(principal: Principal, role: Role) -> bool:
    return RANK[principal.role] >= RANK[role]


def allowed(principal: Principal, action: Action) -> bool:
    if principal.scope is not Scope.manage and action not in SCOPE_ACTIONS[principal.scope]:
        return False
    if principal.vendor_id is not None:
        lowest = VENDOR_LOWEST_ROLE.get(action)
        return lowest is not None and has_role_at_least(principal, lowest)
    if action in ADMIN_ONLY:
        return principal.is_admin
    return has_role_at_least(principal, LOWEST_ROLE[action])


def authorize(principal: Principal, action: Action) -> None:
    """Raise Forbidden unless the principal may perform `action` in its organization."""
    if not allowed(principal, action):
        if principal.scope is not Scope.manage and allowed(replace(principal, scope=Scope.manage), action):
            raise Forbidden(f"This token's scope ({principal.scope.value}) does not allow "
                            f"{action.value.replace('_', ' ')}; use a token with a wider scope.",
                            details={"action": action.value, "scope": principal.scope.value})
        raise Forbidden(
            f"Your role ({principal.role.value}) may not {action.value.replace('_', ' ')}.",
            details={"action": action.value},
        )


def may_grant(principal: Principal, role: Role) -> bool:
    """Nobody hands out a role above their own; only owners make owners; a vendor has no owners."""
    if principal.vendor_id is not None:
        return role is not Role.owner and RANK[principal.role] >= RANK[role]
    return principal.is_admin or RANK[principal.role] >= RANK[role]


def is_vendor(principal: Principal) -> bool:
    return principal.vendor_id is not None
