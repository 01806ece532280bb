"""The one helper through which every query of customer data is scoped to an organization."""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import BindParameter, Select

Ts = TypeVarTuple("Ts")


def scoped(statement: Select[*Ts], model: Any, organization_id: str | BindParameter[str]) -> Select[*Ts]:
    """Restrict `statement` to rows of `model` owned by `organization_id`.

    On hot paths `organization_id` is a `bindparam`: the statement is then built once, at import, and each
    request only binds its values (building and cache-keying a statement costs more than running it).
    """
    return statement.where(model.organization_id == organization_id)
