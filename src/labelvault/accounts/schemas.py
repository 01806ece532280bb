"""HTTP shapes of the accounts domain."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from labelvault.accounts.models import Role
from labelvault.security.policy import Scope


class OrmModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(BaseModel):
    email: str
    password: str
    organization_id: str | None = None


class MeOut(BaseModel):
    user_id: str
    email: str
    organization_id: str
    role: Role
    is_admin: bool
    csrf_token: str | None = None


class PasswordChangeIn(BaseModel):
    current_password: str
    new_password: str = Field(min_length=1)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    scope: Scope = Field(default=Scope.manage, description="read, annotate or manage (all your role allows).")


class TokenOut(OrmModel):
    id: str
    name: str
    prefix: str
    user_id: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    scope: str


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret; shown only now.")


class InvitationIn(BaseModel):
    email: str
    role: Role = Role.annotator
    vendor_id: str | None = Field(default=None, description="Invite to work for this vendor (a vendor's own "
                                                            "managers always invite to their vendor).")


class InvitationOut(BaseModel):
    id: str
    email: str
    role: Role
    expires_at: dt.datetime
    link: str = Field(description="Single-use link; shown only now.")
    emailed: bool


class AcceptIn(BaseModel):
    password: str
    name: str = ""


class MemberPatch(BaseModel):
    role: Role


class MemberOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
    joined_at: dt.datetime
    vendor_id: str | None = None
    skills: list[str] = []


class OrganizationIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class OrganizationOut(OrmModel):
    id: str
    name: str
    slug: str
    created_at: dt.datetime
