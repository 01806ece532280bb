"""Scorecards per annotator and per vendor, from the project's last quality report: what an owner compares
vendors by, and what a vendor's manager sees of their own people."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from labelvault.accounts import service as accounts
from labelvault.errors import NotFound
from labelvault.projects.models import Project
from labelvault.quality import service as quality
from labelvault.quality.vendors import vendor_scorecards
from labelvault.security.policy import Principal
from labelvault.workforce import service as workforce
from labelvault.workforce.models import WorkforceKind


@dataclass
class Scorecards:
    computed_at: Any = None
    annotators: list[dict[str, Any]] = field(default_factory=list)
    vendors: list[dict[str, Any]] = field(default_factory=list)


def vendor_of_people(session: Session, principal: Principal) -> dict[str, str]:
    """user id -> vendor name, for the members who work for a vendor."""
    names = {w.id: w.name for w in workforce.list_workforces(session, principal, WorkforceKind.vendor)}
    return {member.user_id: names[member.vendor_id]
            for member, _ in accounts.list_members(session, principal)
            if member.vendor_id is not None and member.vendor_id in names}


def project_scorecards(session: Session, principal: Principal, project: Project) -> Scorecards:
    """Annotator and vendor scorecards of the last report (empty before the first). A vendor's manager gets
    only their own people's cards and their vendor's."""
    try:
        stored = quality.get_report(session, project)
    except NotFound:  # no report yet
        return Scorecards()
    cards = list(stored.report.get("scorecards", []))
    vendor_of = vendor_of_people(session, principal)
    if principal.vendor_id is not None:
        cards = [card for card in cards if card.get("user_id") in vendor_of]
    pooled = vendor_scorecards(cards, vendor_of)
    if principal.vendor_id is not None:
        pooled = [card for card in pooled if card["vendor"] is not None]
    return Scorecards(stored.computed_at, cards, pooled)
