"""Accounts rules: organizations, users, memberships, tokens, sessions and invitations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from labelvault.accounts import repository as repo
from labelvault.accounts.models import (
    ApiToken,
    BrowserSession,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)
from labelvault.accounts.passwords import (
    DUMMY_HASH,
    NO_PASSWORD,
    hash_password,
    random_password,
    verify_password,
)
from labelvault.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from labelvault.kit.clock import utcnow
from labelvault.kit.hashing import new_secret, token_digest
from labelvault.security.policy import Principal, Scope, may_grant

TOKEN_PREFIX = "lv_"  # noqa: S105 - a public prefix, not a secret
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Token checks update last_used_at at most this often, so reads do not turn into writes.
TOUCH_INTERVAL = dt.timedelta(seconds=60)


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "org"


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an e-mail address.", details={"field": "email"})
    return email


def create_organization(session: Session, name: str) -> Organization:
    """Create a data-owning organization with a unique slug."""
    name = name.strip()
    if not name:
        raise InvalidInput("The organization needs a name.", details={"field": "name"})
    base = _slugify(name)
    slug, n = base, 1
    while repo.organization_by_slug(session, slug) is not None:
        n += 1
        slug = f"{base}-{n}"
    org = Organization(name=name, slug=slug)
    session.add(org)
    session.flush()
    return org


def create_user(session: Session, email: str, password: str | None, *, name: str = "", is_admin: bool = False,
                user_id: str | None = None) -> User:
    """A new user; `user_id` keeps a person's id when a project is restored from a bundle. Without a password
    nobody can sign in as them until an administrator sets one."""
    email = normalize_email(email)
    if repo.user_by_email(session, email) is not None:
        raise Conflict(f"A user with e-mail {email} exists already.", details={"field": "email"})
    user = User(email=email, name=name, is_admin=is_admin,
                password_hash=NO_PASSWORD if password is None else hash_password(password))
    if user_id is not None:
        user.id = user_id
    session.add(user)
    session.flush()
    return user


def add_member(session: Session, organization_id: str, user_id: str, role: Role,
               vendor_id: str | None = None) -> Membership:
    existing = repo.membership(session, organization_id, user_id)
    if existing is not None:
        if existing.vendor_id != vendor_id:
            # Nobody crosses between the organization's own people and a vendor (or between vendors) by
            # accepting an invitation: a vendor could otherwise demote or take over someone else's membership.
            raise Conflict("This person is a member already, for someone else; remove them first.",
                           code="member_elsewhere")
        existing.role = role
        session.flush()
        return existing
    member = Membership(organization_id=organization_id, user_id=user_id, role=role, vendor_id=vendor_id)
    session.add(member)
    session.flush()
    return member


@dataclass
class AdminCreated:
    user: User
    organization: Organization
    password: str | None


def create_admin(
    session: Session, email: str, organization_name: str, password: str | None = None
) -> AdminCreated:
    """Create the first administrator (owner of an organization). A random password is made if none is given."""
    shown = None
    if password is None:
        password = shown = random_password()
    user = create_user(session, email, password, is_admin=True, name=email.split("@")[0])
    org = create_organization(session, organization_name)
    add_member(session, org.id, user.id, Role.owner)
    return AdminCreated(user, org, shown)


def authenticate_password(session: Session, email: str, password: str) -> User:
    user = repo.user_by_email(session, email.strip().lower())
    if user is None or not user.is_active:
        verify_password(DUMMY_HASH, password)
        raise NotAuthenticated("E-mail or password is wrong.")
    if not verify_password(user.password_hash, password):
        raise NotAuthenticated("E-mail or password is wrong.")
    return user


def change_password(session: Session, user_id: str, old: str, new: str) -> None:
    user = repo.user_by_id(session, user_id)
    if user is None or not verify_password(user.password_hash, old):
        raise NotAuthenticated("The current password is wrong.")
    user.password_hash = hash_password(new)
    session.flush()


def principal_for(session: Session, user: User, organization_id: str, **ids: str | None) -> Principal:
    member = repo.membership(session, organization_id, user.id)
    if member is None:
        raise NotAuthenticated("This credential belongs to no organization you are a member of.")
    return Principal(
        user_id=user.id, email=user.email, organization_id=organization_id, role=member.role,
        is_admin=user.is_admin, token_id=ids.get("token_id"), session_id=ids.get("session_id"),
        vendor_id=member.vendor_id,
    )


@dataclass
class TokenCreated:
    token: ApiToken
    secret: str


def create_token(
    session: Session, principal: Principal, name: str, *, expires_in_days: int | None = None,
    scope: Scope = Scope.manage,
) -> TokenCreated:
    """Create an API token for the principal in its organization; the secret is returned once."""
    name = name.strip()
    if not name:
        raise InvalidInput("The token needs a name.", details={"field": "name"})
    secret = TOKEN_PREFIX + new_secret(30)
    expires = utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(
        organization_id=principal.organization_id, user_id=principal.user_id, name=name,
        prefix=secret[:10], digest=token_digest(secret), expires_at=expires, scope=scope.value,
    )
    session.add(token)
    session.flush()
    return TokenCreated(token, secret)


def revoke_token(session: Session, principal: Principal, token_id: str, *, any_user: bool) -> ApiToken:
    token = repo.token(session, principal.organization_id, token_id)
    if token is None or (not any_user and token.user_id != principal.user_id):
        raise NotFound("token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def principal_from_token(session: Session, secret: str, digest: str | None = None) -> tuple[Principal, bool]:
    """The principal of an API token, and whether its last-used time is due for an update (`digest`: the
    secret's `token_digest`, when the caller has it)."""
    # Checked on every request, against the database each time: a revoked token or a removed member is
    # refused at once. One query fetches token, user and membership.
    found = repo.token_credential(session, digest or token_digest(secret))
    now = utcnow()
    if found is None or found.revoked_at is not None or (found.expires_at and found.expires_at <= now):
        raise NotAuthenticated("The API token is unknown, revoked or expired.")
    if not found.is_active:
        raise NotAuthenticated("The API token's user is deactivated.")
    if found.role is None:
        raise NotAuthenticated("This credential belongs to no organization you are a member of.")
    due = found.last_used_at is None or now - found.last_used_at > TOUCH_INTERVAL
    principal = Principal(user_id=found.user_id, email=found.email, organization_id=found.organization_id,
                          role=found.role, is_admin=found.is_admin, token_id=found.token_id,
                          scope=Scope(found.scope), vendor_id=found.vendor_id)
    return principal, due


def record_token_use(session: Session, token_id: str) -> None:
    """Note when a token was last used (at most once a minute per token)."""
    repo.touch_token(session, token_id, utcnow())


@dataclass
class SessionStarted:
    browser_session: BrowserSession
    secret: str


def start_session(session: Session, user: User, ttl: dt.timedelta) -> SessionStarted:
    secret = new_secret(32)
    browser = BrowserSession(
        user_id=user.id, digest=token_digest(secret), csrf_token=new_secret(24), expires_at=utcnow() + ttl
    )
    session.add(browser)
    session.flush()
    return SessionStarted(browser, secret)


def end_session(session: Session, session_id: str) -> None:
    browser = session.get(BrowserSession, session_id)
    if browser is not None and browser.ended_at is None:
        browser.ended_at = utcnow()
        session.flush()


def csrf_token_of(session: Session, session_id: str) -> str:
    """The CSRF token of a browser session, which its pages send back in the `x-csrf-token` header."""
    browser = session.get(BrowserSession, session_id)
    if browser is None:
        raise NotAuthenticated("Your session has ended; sign in again.")
    return browser.csrf_token


def principal_from_session(session: Session, secret: str, organization_id: str | None) -> Principal:
    browser = repo.browser_session_by_digest(session, token_digest(secret))
    if browser is None or browser.ended_at is not None or browser.expires_at <= utcnow():
        raise NotAuthenticated("Your session has ended; sign in again.")
    user = repo.user_by_id(session, browser.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("Your account is deactivated.")
    if organization_id is None:
        memberships = repo.memberships_of_user(session, user.id)
        if not memberships:
            raise NotAuthenticated("You are not a member of any organization.")
        organization_id = memberships[0].organization_id
    return principal_for(session, user, organization_id, session_id=browser.id)


@dataclass
class InvitationCreated:
    invitation: Invitation
    secret: str


def invite(
    session: Session, principal: Principal, email: str, role: Role, ttl: dt.timedelta,
    vendor_id: str | None = None,
) -> InvitationCreated:
    """Create a single-use, expiring invitation link for `email` with `role` (for a vendor: a vendor's people
    invite only to their own vendor; the caller has checked that `vendor_id` is one of the organization's)."""
    email = normalize_email(email)
    if principal.vendor_id is not None:
        vendor_id = principal.vendor_id
    if vendor_id is not None and role == Role.owner:
        raise Forbidden("A vendor's people cannot be owners.", details={"field": "role"})
    if not may_grant(principal, role):
        raise Forbidden(f"You may not invite someone as {role.value}.", details={"field": "role"})
    secret = new_secret(32)
    invitation = Invitation(
        organization_id=principal.organization_id, email=email, role=role, digest=token_digest(secret),
        invited_by_id=principal.user_id, expires_at=utcnow() + ttl, vendor_id=vendor_id,
    )
    session.add(invitation)
    session.flush()
    return InvitationCreated(invitation, secret)


def accept_invitation(session: Session, secret: str, password: str, name: str = "") -> Membership:
    """Use an invitation link once: create (or reuse) the user and add the membership."""
    invitation = repo.invitation_by_digest(session, token_digest(secret))
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= utcnow():
        raise NotFound("invitation")
    user = repo.user_by_email(session, invitation.email)
    if user is None:
        user = create_user(session, invitation.email, password, name=name)
    elif not verify_password(user.password_hash, password):
        raise NotAuthenticated("This e-mail has an account already; give its current password to join.")
    invitation.accepted_at = utcnow()
    member = add_member(session, invitation.organization_id, user.id, invitation.role, invitation.vendor_id)
    session.flush()
    return member


def organization_of(session: Session, principal: Principal) -> Organization | None:
    return repo.organization_by_id(session, principal.organization_id)


def get_user(session: Session, user_id: str) -> User:
    user = repo.user_by_id(session, user_id)
    if user is None:
        raise NotFound("user")
    return user


def _member_to_manage(session: Session, principal: Principal, user_id: str) -> Membership:
    member = repo.membership(session, principal.organization_id, user_id)
    if member is None or (principal.vendor_id is not None and member.vendor_id != principal.vendor_id):
        raise NotFound("member")
    if not may_grant(principal, member.role):
        raise Forbidden(f"You may not change a member who is {member.role.value}.", details={"field": "role"})
    return member


def _keep_an_owner(session: Session, principal: Principal, member: Membership) -> None:
    if member.role == Role.owner and repo.owner_count(session, principal.organization_id) <= 1:
        raise Conflict("The organization needs at least one owner: make someone else owner first.",
                       code="last_owner", details={"user_id": member.user_id})


def change_role(session: Session, principal: Principal, user_id: str, role: Role) -> Membership:
    """Give a member another role; nobody hands out a role above their own, and an owner always remains."""
    member = _member_to_manage(session, principal, user_id)
    if not may_grant(principal, role) or (member.vendor_id is not None and role == Role.owner):
        raise Forbidden(f"You may not make someone {role.value}.", details={"field": "role"})
    if role != Role.owner:
        _keep_an_owner(session, principal, member)
    member.role = role
    session.flush()
    return member


def remove_member(session: Session, principal: Principal, user_id: str) -> Membership:
    """End a membership at once: the person's tokens and sessions no longer reach this organization (both
    are checked against the membership on every request). Their annotations and drafts stay."""
    member = _member_to_manage(session, principal, user_id)
    _keep_an_owner(session, principal, member)
    repo.delete_membership(session, member)
    session.flush()
    return member


def list_members(session: Session, principal: Principal) -> list[tuple[Membership, User]]:
    """The organization's members; a vendor's people see only their own vendor's."""
    return list(repo.members(session, principal.organization_id, vendor_id=principal.vendor_id))


def set_skills(session: Session, principal: Principal, user_id: str, skills: list[str]) -> Membership:
    """Say what a member is qualified for (routing rules may ask for a skill)."""
    member = _member_to_manage(session, principal, user_id)
    cleaned = sorted({s.strip() for s in skills if s.strip()})
    if any(len(s) > 64 or "/" in s for s in cleaned):
        raise InvalidInput("A skill has at most 64 characters and no '/'.", details={"field": "skills"})
    member.skills = cleaned
    session.flush()
    return member


def vendor_memberships(session: Session, organization_id: str, vendor_id: str) -> list[Membership]:
    return list(repo.memberships_of_vendor(session, organization_id, vendor_id))


def end_access(session: Session, organization_id: str, user_id: str) -> None:
    """Stop every credential of the person in the organization at once: membership gone, tokens revoked,
    browser sessions ended; a person left without any organization is deactivated, so that signing in
    answers as for an unknown account."""
    member = repo.membership(session, organization_id, user_id)
    if member is not None:
        repo.delete_membership(session, member)
    now = utcnow()
    repo.revoke_tokens_of(session, organization_id, user_id, now)
    session.flush()
    if not repo.memberships_of_user(session, user_id):
        repo.end_browser_sessions_of(session, user_id, now)
        user = repo.user_by_id(session, user_id)
        if user is not None:
            user.is_active = False
    session.flush()


def list_tokens(session: Session, principal: Principal, *, all_users: bool) -> list[ApiToken]:
    return list(repo.tokens(session, principal.organization_id, None if all_users else principal.user_id))


def list_organizations(session: Session) -> list[Organization]:
    return list(repo.organizations(session))


def names_of(session: Session, organization_id: str, user_ids: Collection[str]) -> dict[str, str]:
    """user id -> how pages name a person (the name, else the e-mail), in one query; former members are left
    out (a page shows their id)."""
    return {user_id: name or email
            for user_id, (name, email) in repo.member_names(session, organization_id, user_ids).items()}


def emails_of_organization(session: Session, organization_id: str, vendor_id: str | None = None) -> dict[str, str]:
    """user id -> e-mail of the organization's members (of one vendor's, when given)."""
    return {user.id: user.email for _, user in repo.members(session, organization_id, vendor_id)}


def membership_of(session: Session, organization_id: str, user_id: str) -> Membership | None:
    return repo.membership(session, organization_id, user_id)


def withdraw_vendor_invitations(session: Session, organization_id: str, vendor_id: str) -> None:
    """Open invitations to a vendor stop working (they expire now)."""
    repo.expire_vendor_invitations(session, organization_id, vendor_id, utcnow())
    session.flush()
