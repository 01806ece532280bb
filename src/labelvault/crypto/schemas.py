"""Output schemas of rows with sealed content."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from labelvault.crypto.content import sealed_attributes


class OpensSealed(BaseModel):
    """A schema read from a model's attributes, some of them sealed (crypto/content.py): they are opened before
    Pydantic reads them, so that content destroyed by a shred, or damaged, answers with its own error (410,
    500 content_damaged) rather than as a failed validation, which Pydantic makes of any error it meets
    while reading an attribute."""

    @model_validator(mode="before")
    @classmethod
    def _open_sealed(cls, value: Any) -> Any:
        for name, _ in sealed_attributes(type(value)):
            getattr(value, name)
        return value
