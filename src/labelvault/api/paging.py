"""Cursor pagination shared by list endpoints."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

from labelvault.config import Settings
from labelvault.errors import InvalidInput

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def page_size(settings: Settings, limit: int | None) -> int:
    if limit is None:
        return settings.default_page_size
    if not 1 <= limit <= settings.max_page_size:
        raise InvalidInput(f"limit must be between 1 and {settings.max_page_size}.", details={"field": "limit"})
    return limit
