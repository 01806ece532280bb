"""The one helper through which every query of customer data is scoped to an organization."""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import Select

Ts = TypeVarTuple("Ts")


def scoped(statement: Select[*Ts], model: Any, organization_id: str) -> Select[*Ts]:
    """Restrict `statement` to rows of `model` owned by `organization_id`."""
    return statement.where(model.organization_id == organization_id)
