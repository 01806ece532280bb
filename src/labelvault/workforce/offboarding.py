"""Dropping a vendor at once: access ends, held work returns to the queues, drafts stay with the owner."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from labelvault.accounts import service as accounts
from labelvault.assignments import service as assignments
from labelvault.security.policy import Principal
from labelvault.workforce import service as workforce
from labelvault.workforce.models import Workforce


@dataclass
class Revoked:
    vendor: Workforce
    people: int
    leases_released: int
    items_returned: int


def revoke_vendor(session: Session, principal: Principal, vendor_id: str) -> Revoked:
    """End the vendor's access in one transaction: every member's tokens, sessions and membership; their
    leases go back to the queues (their drafts and submitted work stay); open invitations to the vendor are
    withdrawn; its routing rules go and its pending items return to the organization's own people. A revoked
    person who belongs nowhere else is deactivated, so that signing in answers as for an unknown account."""
    vendor = workforce.live_vendor(session, principal, vendor_id)
    members = accounts.vendor_memberships(session, principal.organization_id, vendor.id)
    released = 0
    for member in members:
        released += assignments.release_everything_of(session, principal.organization_id, member.user_id)
        accounts.end_access(session, principal.organization_id, member.user_id)
    accounts.withdraw_vendor_invitations(session, principal.organization_id, vendor.id)
    returned = workforce.unroute_vendor(session, principal.organization_id, vendor.id)
    workforce.mark_revoked(session, vendor)
    return Revoked(vendor, len(members), released, returned)
