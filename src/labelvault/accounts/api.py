"""HTTP routes of the accounts domain: sign-in, me, tokens, invitations, members, organizations."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request, Response
from starlette.background import BackgroundTasks

from labelvault.accounts import mail, service
from labelvault.accounts.models import Membership, Role, User
from labelvault.accounts.schemas import (
    AcceptIn,
    InvitationIn,
    InvitationOut,
    LoginIn,
    MemberOut,
    MemberPatch,
    MeOut,
    OrganizationIn,
    OrganizationOut,
    PasswordChangeIn,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
)
from labelvault.api.deps import (
    DB,
    SESSION_COOKIE,
    CanInvite,
    CanManageMembers,
    CanManageOrganizations,
    CanReadMembers,
    CanReadSelf,
    CanUseOwnTokens,
    Ctx,
    public,
)
from labelvault.assignments import service as assignments
from labelvault.ledger.recording import Recorder
from labelvault.security import throttle
from labelvault.security.policy import Action, allowed
from labelvault.workforce import service as workforce

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/login", response_model=MeOut, dependencies=[Depends(public("signing in"))])
def login(body: LoginIn, request: Request, session: DB, ctx: Ctx, response: Response) -> MeOut:
    keys = throttle.keys_for(body.email, request.client.host if request.client else "")
    user = throttle.guarded_sign_in(ctx.factory, throttle.limits(ctx.settings), keys,
                                    lambda own: service.authenticate_password(own, body.email, body.password))
    started = service.start_session(session, user, dt.timedelta(hours=ctx.settings.session_ttl_hours))
    principal = service.principal_from_session(session, started.secret, body.organization_id)
    response.set_cookie(
        SESSION_COOKIE, started.secret, httponly=True, samesite="strict",
        secure=ctx.settings.secure_cookies or request.url.scheme == "https",
        max_age=ctx.settings.session_ttl_hours * 3600, path="/",
    )
    return MeOut(user_id=principal.user_id, email=principal.email, organization_id=principal.organization_id,
                 role=principal.role, is_admin=principal.is_admin, csrf_token=started.browser_session.csrf_token)


@router.post("/auth/logout", status_code=204)
def logout(principal: CanReadSelf, session: DB, response: Response) -> None:
    if principal.session_id:
        service.end_session(session, principal.session_id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=MeOut)
def me(principal: CanReadSelf) -> MeOut:
    return MeOut(user_id=principal.user_id, email=principal.email, organization_id=principal.organization_id,
                 role=principal.role, is_admin=principal.is_admin)


@router.post("/me/password", status_code=204)
def change_password(body: PasswordChangeIn, principal: CanReadSelf, session: DB) -> None:
    service.change_password(session, principal.user_id, body.current_password, body.new_password)


@router.post("/tokens", response_model=TokenCreatedOut, status_code=201)
def create_token(body: TokenIn, principal: CanUseOwnTokens, session: DB, ctx: Ctx,
                 ledger: Recorder) -> TokenCreatedOut:
    days = body.expires_in_days or (ctx.settings.token_ttl_days or None)
    created = service.create_token(session, principal, body.name, expires_in_days=days, scope=body.scope)
    ledger.permission(principal, principal.organization_id, {"token_created": created.token.id})
    return TokenCreatedOut(**TokenOut.model_validate(created.token).model_dump(), token=created.secret)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(principal: CanUseOwnTokens, session: DB) -> list[TokenOut]:
    everyone = allowed(principal, Action.manage_all_tokens)
    return [TokenOut.model_validate(t) for t in service.list_tokens(session, principal, all_users=everyone)]


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: str, principal: CanUseOwnTokens, session: DB, ledger: Recorder) -> TokenOut:
    token = service.revoke_token(session, principal, token_id,
                                 any_user=allowed(principal, Action.manage_all_tokens))
    ledger.permission(principal, principal.organization_id, {"token_revoked": token.id})
    return TokenOut.model_validate(token)


@router.post("/invitations", response_model=InvitationOut, status_code=201)
def invite(body: InvitationIn, principal: CanInvite, session: DB, ctx: Ctx,
           background: BackgroundTasks, ledger: Recorder) -> InvitationOut:
    vendor_id = body.vendor_id
    if vendor_id is not None and principal.vendor_id is None:
        vendor_id = workforce.live_vendor(session, principal, vendor_id).id
    created = service.invite(session, principal, body.email, body.role,
                             dt.timedelta(hours=ctx.settings.invitation_ttl_hours), vendor_id)
    link = f"{ctx.settings.base_url.rstrip('/')}/invite/{created.secret}"
    ledger.permission(principal, principal.organization_id,
                      {"invited": created.invitation.email, "role": created.invitation.role,
                       "vendor_id": created.invitation.vendor_id})
    org = service.organization_of(session, principal)
    emailed = bool(ctx.settings.smtp_host)
    if emailed:
        # Sent after the response (and so after the commit), never from inside the transaction.
        background.add_task(mail.send_invitation, ctx.settings, created.invitation.email, link,
                            org.name if org else "")
    inv = created.invitation
    return InvitationOut(id=inv.id, email=inv.email, role=inv.role, expires_at=inv.expires_at, link=link,
                         emailed=emailed)


@router.post("/invitations/{secret}/accept", response_model=MemberOut,
             dependencies=[Depends(public("the invitation secret is the credential"))])
def accept_invitation(secret: str, body: AcceptIn, session: DB, ledger: Recorder) -> MemberOut:
    member = service.accept_invitation(session, secret, body.password, body.name)
    user = service.get_user(session, member.user_id)
    ledger.permission(None, member.organization_id, {"joined": user.id, "role": member.role},
                      actor_user_id=user.id, actor_email=user.email)
    return _member_out(member, user)


@router.get("/members", response_model=list[MemberOut])
def list_members(principal: CanReadMembers, session: DB) -> list[MemberOut]:
    return [_member_out(m, u) for m, u in service.list_members(session, principal)]


def _member_out(member: Membership, user: User) -> MemberOut:
    return MemberOut(user_id=user.id, email=user.email, name=user.name, role=member.role,
                     joined_at=member.created_at, vendor_id=member.vendor_id, skills=list(member.skills))


@router.patch("/members/{user_id}", response_model=MemberOut)
def change_member_role(user_id: str, body: MemberPatch, principal: CanManageMembers, session: DB,
                       ledger: Recorder) -> MemberOut:
    """Give a member another role (owners only; an organization keeps at least one owner)."""
    member = service.change_role(session, principal, user_id, body.role)
    user = service.get_user(session, member.user_id)
    ledger.permission(principal, principal.organization_id, {"role_changed": user.id, "role": member.role})
    return _member_out(member, user)


@router.delete("/members/{user_id}", status_code=204)
def remove_member(user_id: str, principal: CanManageMembers, session: DB, ledger: Recorder) -> None:
    """Remove a member at once: their tokens and sessions stop working here, the items they held go back
    to the queue; their annotations and drafts stay."""
    removed = service.remove_member(session, principal, user_id)
    released = assignments.release_everything_of(session, principal.organization_id, user_id)
    ledger.permission(principal, principal.organization_id,
                      {"removed": user_id, "role": removed.role, "leases_released": released})


@router.get("/organizations", response_model=list[OrganizationOut])
def list_organizations(principal: CanManageOrganizations, session: DB) -> list[OrganizationOut]:
    return [OrganizationOut.model_validate(o) for o in service.list_organizations(session)]


@router.post("/organizations", response_model=OrganizationOut, status_code=201)
def create_organization(body: OrganizationIn, principal: CanManageOrganizations, session: DB) -> OrganizationOut:
    org = service.create_organization(session, body.name)
    service.add_member(session, org.id, principal.user_id, Role.owner)
    return OrganizationOut.model_validate(org)
