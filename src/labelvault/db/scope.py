"""The one helper through which every query of customer data is scoped to an organization."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select

T = TypeVar("T", bound=Select[Any])


def scoped(statement: T, model: Any, organization_id: str) -> T:
    """Restrict `statement` to rows of `model` owned by `organization_id`."""
    return statement.where(model.organization_id == organization_id)
