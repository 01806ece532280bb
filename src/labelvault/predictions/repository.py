"""Every query of the predictions domain."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from labelvault.crypto.content import answers_field, project_keys, seal_rows
from labelvault.db.scope import scoped
from labelvault.predictions.models import Prediction


def replace_predictions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write predictions (`answers` in plaintext: sealed here); one already stored for the same item, model and
    version is replaced."""
    if not rows:
        return
    keys = sorted({(r["item_id"], r["model_name"], r["model_version"]) for r in rows})
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        session.execute(delete(Prediction).where(
            tuple_(Prediction.item_id, Prediction.model_name, Prediction.model_version).in_(chunk)))
    session.execute(insert(Prediction), seal_rows(session, Prediction, rows))


def predictions_of_item(session: Session, organization_id: str, item_id: str) -> Sequence[Prediction]:
    stmt = scoped(select(Prediction), Prediction, organization_id).where(Prediction.item_id == item_id)
    return session.scalars(stmt.order_by(Prediction.model_name, Prediction.model_version)).all()


def project_predictions(session: Session, organization_id: str, project_id: str,
                        batch: int = 2000) -> Iterator[Sequence[Prediction]]:
    """Every prediction of a project by (item id, model, version), in pages."""
    after: tuple[str, str, str] | None = None
    while True:
        stmt = scoped(select(Prediction), Prediction, organization_id).where(Prediction.project_id == project_id)
        if after is not None:
            stmt = stmt.where(tuple_(Prediction.item_id, Prediction.model_name, Prediction.model_version) > after)
        rows = session.scalars(stmt.order_by(Prediction.item_id, Prediction.model_name,
                                             Prediction.model_version).limit(batch)).all()
        if not rows:
            return
        yield rows
        last = rows[-1]
        after = (last.item_id, last.model_name, last.model_version)


def prediction_rows_of_items(session: Session, organization_id: str, project_id: str,
                             item_ids: list[str]) -> list[dict[str, Any]]:
    """(item id, model name, model version, answers, score) of these items' predictions as dicts, read and
    opened in one pass (no ORM object per row: exports read every prediction of a project)."""
    if not item_ids:
        return []
    stmt = scoped(select(Prediction.item_id, Prediction.id, Prediction.model_name, Prediction.model_version,
                         Prediction.sealed_answers, Prediction.score), Prediction, organization_id).where(
        Prediction.project_id == project_id, Prediction.item_id.in_(item_ids))
    rows = project_keys(session, organization_id, project_id).open_rows(
        session.execute(stmt.order_by(Prediction.item_id, Prediction.model_name, Prediction.model_version)).all(),
        4, lambda row: f"{row[0]}\x00{answers_field('prediction', row[1])}".encode())
    return [{"item_id": item_id, "model_name": name, "model_version": version, "answers": orjson.loads(answers),
             "score": score} for item_id, _, name, version, answers, score in rows]
