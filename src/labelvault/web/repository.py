"""Queries behind the annotator's pages (read only, scoped to the viewer's organization)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.annotations.models import Annotation, AnnotationStatus
from labelvault.db.scope import scoped


def my_counts_since(session: Session, organization_id: str, user_id: str,
                    since: dt.datetime) -> dict[str, dict[str, int]]:
    """Per project: the viewer's annotations submitted since `since`, and their open drafts."""
    statement = scoped(select(Annotation.project_id, Annotation.status, func.count()), Annotation, organization_id)
    statement = statement.where(Annotation.author_id == user_id).where(
        (Annotation.status == AnnotationStatus.draft) | (Annotation.submitted_at >= since)
    ).group_by(Annotation.project_id, Annotation.status)
    counts: dict[str, dict[str, int]] = {}
    for project_id, status, count in session.execute(statement):
        counts.setdefault(project_id, {})[status] = count
    return counts
