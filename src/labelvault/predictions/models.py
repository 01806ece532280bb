"""Predictions: a model's pre-labels for an item, kept apart from people's annotations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.crypto.content import Sealed, answers_field
from labelvault.db.base import Base, created_column, id_column


class Prediction(Base):
    """One model version's answers for one item (the schema's answer format); a re-import replaces them."""

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("item_id", "model_name", "model_version"),
        Index("ix_predictions_project_item", "project_id", "item_id"),
    )

    id: Mapped[str] = id_column()
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    model_name: Mapped[str] = mapped_column(String(200), nullable=False)
    model_version: Mapped[str] = mapped_column(String(100), nullable=False)
    # Stored only sealed (crypto/content.py); `answers` is the plaintext.
    sealed_answers: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    answers = Sealed("sealed_answers", lambda row: (row.item_id, answers_field("prediction", row.id)))
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = created_column()
