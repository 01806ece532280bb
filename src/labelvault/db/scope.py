"""The one helper through which every query of customer data is scoped to an organization."""

from __future__ import annotations

from typing import Any, TypeVarTuple, Unpack

from sqlalchemy import Select

Ts = TypeVarTuple("Ts")


def scoped(statement: Select[Unpack[Ts]], model: Any, organization_id: str) -> Select[Unpack[Ts]]:
    """Restrict `statement` to rows of `model` owned by `organization_id`."""
    return statement.where(model.organization_id == organization_id)
