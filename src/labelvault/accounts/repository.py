"""Every query of the accounts domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import NamedTuple

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from labelvault.accounts.models import (
    ApiToken,
    BrowserSession,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)
from labelvault.db.direct import Direct
from labelvault.db.scope import scoped


def user_by_email(session: Session, email: str) -> User | None:
    # unscoped: users belong to no single organization; callers authenticate or are admins.
    return session.scalars(select(User).where(User.email == email.lower())).first()


def user_by_id(session: Session, user_id: str) -> User | None:
    # unscoped: users belong to no single organization; the caller holds the id from a scoped row.
    return session.get(User, user_id)


def organization_by_id(session: Session, organization_id: str) -> Organization | None:
    # unscoped: the organization itself, by the id of the caller's own scope.
    return session.get(Organization, organization_id)


def organization_by_slug(session: Session, slug: str) -> Organization | None:
    # unscoped: slug uniqueness check when creating an organization.
    return session.scalars(select(Organization).where(Organization.slug == slug)).first()


def organizations(session: Session) -> Sequence[Organization]:
    # unscoped: instance administrators list every organization.
    return session.scalars(select(Organization).order_by(Organization.created_at)).all()


def membership(session: Session, organization_id: str, user_id: str) -> Membership | None:
    stmt = scoped(select(Membership), Membership, organization_id).where(Membership.user_id == user_id)
    return session.scalars(stmt).first()


def owner_count(session: Session, organization_id: str) -> int:
    stmt = scoped(select(func.count()).select_from(Membership), Membership, organization_id).where(
        Membership.role == Role.owner)
    return int(session.scalar(stmt) or 0)


def delete_membership(session: Session, membership: Membership) -> None:
    session.delete(membership)


def memberships_of_user(session: Session, user_id: str) -> Sequence[Membership]:
    # unscoped: pre-authentication, a user's own memberships across organizations.
    return session.scalars(
        select(Membership).where(Membership.user_id == user_id).order_by(Membership.created_at)
    ).all()


def members(session: Session, organization_id: str,
            vendor_id: str | None = None) -> Sequence[tuple[Membership, User]]:
    stmt = (
        scoped(select(Membership, User), Membership, organization_id)
        .join(User, User.id == Membership.user_id)
        .order_by(Membership.created_at)
    )
    if vendor_id is not None:
        stmt = stmt.where(Membership.vendor_id == vendor_id)
    return [(m, u) for m, u in session.execute(stmt).all()]


def member_names(session: Session, organization_id: str, user_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """user id -> (name, e-mail) of those of `user_ids` who are members, in one query."""
    if not user_ids:
        return {}
    stmt = (
        scoped(select(Membership.user_id, User.name, User.email), Membership, organization_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id.in_(sorted(set(user_ids))))
    )
    return {user_id: (name, email) for user_id, name, email in session.execute(stmt).all()}


class TokenCredential(NamedTuple):
    token_id: str
    organization_id: str
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    user_id: str
    email: str
    is_admin: bool
    is_active: bool
    role: Role | None  # None: the user is no longer a member of the token's organization
    scope: str
    vendor_id: str | None


_TOKEN_CREDENTIAL = (  # unscoped: pre-authentication, the digest is the credential; the membership joined is
    # the one in the token's own organization.
    select(ApiToken.id, ApiToken.organization_id, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.last_used_at,
           User.id, User.email, User.is_admin, User.is_active, Membership.role, ApiToken.scope,
           Membership.vendor_id)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Membership, (Membership.organization_id == ApiToken.organization_id)
               & (Membership.user_id == ApiToken.user_id))
    .where(ApiToken.digest == bindparam("digest"))
)

_TOKEN_CREDENTIAL_DIRECT = Direct(_TOKEN_CREDENTIAL)


def token_credential(session: Session, digest: str) -> TokenCredential | None:
    """What every API request checks, in one query: the token, its user and their membership in the token's
    organization."""
    row = _TOKEN_CREDENTIAL_DIRECT.first(session, {"digest": digest})
    return None if row is None else TokenCredential._make(row)


def tokens(session: Session, organization_id: str, user_id: str | None) -> Sequence[ApiToken]:
    stmt = scoped(select(ApiToken), ApiToken, organization_id).order_by(ApiToken.created_at)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    return session.scalars(stmt).all()


def token(session: Session, organization_id: str, token_id: str) -> ApiToken | None:
    stmt = scoped(select(ApiToken), ApiToken, organization_id).where(ApiToken.id == token_id)
    return session.scalars(stmt).first()


def touch_token(session: Session, token_id: str, when: dt.datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=when))


def browser_session_by_digest(session: Session, digest: str) -> BrowserSession | None:
    # unscoped: pre-authentication, the digest is the credential.
    return session.scalars(select(BrowserSession).where(BrowserSession.digest == digest)).first()


def invitation_by_digest(session: Session, digest: str) -> Invitation | None:
    # unscoped: pre-authentication, the link's secret is the credential.
    return session.scalars(select(Invitation).where(Invitation.digest == digest)).first()


def memberships_of_vendor(session: Session, organization_id: str, vendor_id: str) -> Sequence[Membership]:
    stmt = scoped(select(Membership), Membership, organization_id).where(Membership.vendor_id == vendor_id)
    return session.scalars(stmt).all()


def revoke_tokens_of(session: Session, organization_id: str, user_id: str, now: dt.datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.organization_id == organization_id,
                                           ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def end_browser_sessions_of(session: Session, user_id: str, now: dt.datetime) -> None:
    session.execute(update(BrowserSession).where(BrowserSession.user_id == user_id,
                                                 BrowserSession.ended_at.is_(None)).values(ended_at=now))


def expire_vendor_invitations(session: Session, organization_id: str, vendor_id: str, now: dt.datetime) -> None:
    session.execute(update(Invitation).where(Invitation.organization_id == organization_id,
                                             Invitation.vendor_id == vendor_id, Invitation.accepted_at.is_(None),
                                             Invitation.expires_at > now).values(expires_at=now))
