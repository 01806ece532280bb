"""HTTP routes of exposure reports (JSON, CSV or JSONL)."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from labelvault.api.deps import DB, CanReadExposure
from labelvault.ledger import exposure
from labelvault.ledger.schemas import ExposureRowOut

router = APIRouter(prefix="/api/v1/exposure", tags=["ledger"])
Format = Literal["json", "csv", "jsonl"]
FORMAT = Query(default="json", description="json (default), csv or jsonl (both downloads).")


def _file_name(name: str) -> str:
    """The download's file name from an id taken from the path: only safe characters reach the header (another
    character would break it, or fail to encode and end the request with a server error)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120]


def _answer(rows: list[exposure.ExposureRow], fmt: Format, name: str) -> list[ExposureRowOut] | Response:
    if fmt == "json":
        return [ExposureRowOut(**asdict(row)) for row in rows]
    body, media = (exposure.to_csv(rows), "text/csv") if fmt == "csv" else (exposure.to_jsonl(rows),
                                                                            "application/x-ndjson")
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="exposure-{_file_name(name)}.{fmt}"'})


@router.get("/items/{item_id}", response_model=list[ExposureRowOut])
def item_exposure(item_id: str, principal: CanReadExposure, session: DB,
                  format: Format = FORMAT) -> list[ExposureRowOut] | Response:
    """Who saw this item: per person, how often, which fields, through which routes, first and last time."""
    return _answer(exposure.item_exposure(session, principal, item_id), format, f"item-{item_id}")


@router.get("/people/{user_id}", response_model=list[ExposureRowOut])
def person_exposure(user_id: str, principal: CanReadExposure, session: DB,
                    format: Format = FORMAT) -> list[ExposureRowOut] | Response:
    """Everything this person saw in your organization: per item, fields, counts and time range."""
    return _answer(exposure.actor_exposure(session, principal, user_id=user_id), format, f"person-{user_id}")


@router.get("/vendors/{vendor_id}", response_model=list[ExposureRowOut])
def vendor_exposure(vendor_id: str, principal: CanReadExposure, session: DB,
                    format: Format = FORMAT) -> list[ExposureRowOut] | Response:
    """Everything the people of this vendor saw in your organization."""
    return _answer(exposure.actor_exposure(session, principal, vendor_id=vendor_id), format, f"vendor-{vendor_id}")
