"""HTTP shapes of the ledger: exposure rows."""

from __future__ import annotations

from pydantic import BaseModel


class ExposureRowOut(BaseModel):
    item_id: str
    project_id: str
    actor_user_id: str
    actor_email: str
    vendor_id: str
    accesses: int
    fields: list[str]
    kinds: list[str]
    routes: list[str]
    first_seen: str
    last_seen: str
