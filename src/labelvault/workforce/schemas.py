"""HTTP shapes of the workforce domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WorkforceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class WorkforceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    review_percent: int = Field(description="A vendor's internal review: the share (percent) of its people's "
                                            "submitted work its own reviewers check before the owner's review.")


class VendorReviewIn(BaseModel):
    review_percent: int = Field(ge=0, le=100, description="0: no internal review; 100: all of the vendor's work.")


class TeamMembersOut(BaseModel):
    team_id: str
    user_ids: list[str]


class SkillsIn(BaseModel):
    skills: list[str] = Field(max_length=50)


class RuleBody(BaseModel):
    name: str = Field(default="", max_length=200)
    workforce_id: str | None = Field(default=None, description="A team's or vendor's id; null: the "
                                                                "organization's own people.")
    match: dict[str, Any] = Field(default_factory=dict, description='{"metadata": {key: value or [values]}, '
                                                                     '"tags": [any of], "split": name}')
    skill: str | None = Field(default=None, description="A skill the receiver needs.")


class RoutingIn(BaseModel):
    rules: list[RuleBody] = Field(max_length=100)


class RuleOut(RuleBody):
    model_config = ConfigDict(from_attributes=True)

    id: str
    position: int


class RoutingOut(BaseModel):
    rules: list[RuleOut]
    items_moved: int = Field(default=0, description="Pending items that changed pool.")


class RerouteIn(BaseModel):
    from_workforce_id: str = Field(alias="from")
    to_workforce_id: str | None = Field(default=None, alias="to",
                                        description="null: the organization's own people.")


class RerouteOut(BaseModel):
    items_moved: int


class RevokeOut(BaseModel):
    vendor: WorkforceOut
    people: int = Field(description="Members of the vendor whose access ended.")
    leases_released: int
    items_returned: int = Field(description="Pending items routed to the vendor, now with your own people.")
    exposure_items: int = Field(description="Items the vendor's people saw (see the exposure report).")
    exposure_report: str = Field(description="Where to download the vendor's full exposure report.")


class ScorecardsOut(BaseModel):
    computed_at: dt.datetime | None
    annotators: list[dict[str, Any]] = Field(description="Per annotator: gold accuracy, agreement with consensus, "
                                                         "items per hour, median time, rejection rate, trend.")
    vendors: list[dict[str, Any]] = Field(description="The same pooled per vendor (vendor null: your own people).")
