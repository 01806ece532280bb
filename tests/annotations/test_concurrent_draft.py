"""A draft saved by the same person at the very moment they submit (the labeling page saves drafts as they
work): the submission still lands, as a change of that draft, instead of a 409."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tests.annotations.test_annotations_api import NEGATIVE, POSITIVE, make_project, submit

from labelvault.accounts import service as accounts
from labelvault.accounts.models import Role
from labelvault.annotations import repository as annotations_repo
from labelvault.annotations import service as annotations
from labelvault.annotations.models import Annotation
from labelvault.db.engine import transaction
from labelvault.items import service as items
from labelvault.projects import service as projects


@pytest.fixture(autouse=True)
def _postgresql_only(engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the submission reads and writes under the write lock: no other write comes between")


def test_a_draft_committed_between_the_check_and_the_insert_becomes_the_submission(
        client, ctx, owner, member_of, monkeypatch: pytest.MonkeyPatch) -> None:
    _, [item] = make_project(client, ctx, owner)
    annotator = member_of(owner, Role.annotator)
    original = annotations_repo.annotation_of_author
    drafts_saved: list[str] = []
    checks = []

    def draft_saved_meanwhile(session: Any, organization_id: str, item_id: str, author_id: str,
                              known: bool | None = None) -> Any:
        found = original(session, organization_id, item_id, author_id, known)
        checks.append(found)
        if len(checks) == 1:  # the first submission's check: "none yet"; then the draft request commits
            with transaction(ctx.factory) as other:
                principal, _ = accounts.principal_from_token(other, annotator.token)
                shown = items.get_item(other, principal, item_id)
                project = projects.get_project(other, principal, shown.project_id)
                drafts_saved.append(annotations.save_annotation(other, principal, project, shown,
                                                                answers=NEGATIVE, draft=True).annotation.id)
        return found

    monkeypatch.setattr(annotations_repo, "annotation_of_author", draft_saved_meanwhile)
    submitted = submit(client, annotator, item["id"], POSITIVE, time_spent_ms=500).json()

    assert len(drafts_saved) == 1
    # The submission's check (none), the draft's own (none), and the submission's again, run anew (the draft).
    assert [found is None for found in checks] == [True, True, False]
    assert submitted["id"] == drafts_saved[0]  # the draft, changed into the submission
    assert submitted["status"] == "submitted" and submitted["answers"] == POSITIVE
    with ctx.factory() as session:
        rows = session.scalars(select(Annotation).where(Annotation.item_id == item["id"])).all()
    assert [(row.id, row.status) for row in rows] == [(drafts_saved[0], "submitted")]
    state = client.get(f"/api/v1/items/{item['id']}", headers=owner.headers).json()
    assert state["state"] == "completed" and state["annotation_count"] == 1
