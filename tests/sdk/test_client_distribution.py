"""The SDK's distribution and review calls, and `labelvault project status`, against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from labelvault.accounts.models import Role
from labelvault.cli.main import app
from labelvault.db.engine import build_engine, session_factory
from labelvault.db.migrate import upgrade
from labelvault.sdk import ApiError, Client
from labelvault.testing import TEXT_SCHEMA, fresh_database, make_actor, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def remote(db_kind, pg_admin_url, tmp_path_factory) -> Iterator[tuple[str, object]]:
    directory = tmp_path_factory.mktemp("dist")
    with fresh_database(db_kind, directory, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        (directory / "data").mkdir()
        server = start_server(directory / "data", url, LABELVAULT_JOB_POLL_SECONDS="0.1")
        try:
            yield server.url, session_factory(engine)
        finally:
            server.stop()
            engine.dispose()


def test_next_skip_submit_review_and_status(remote, tmp_path: Path):
    url, factory = remote
    owner = make_actor(factory, Role.owner)
    annotator = make_actor(factory, Role.annotator, organization_id=owner.organization_id)
    reviewer = make_actor(factory, Role.reviewer, organization_id=owner.organization_id)
    with Client(url, owner.token) as admin, Client(url, annotator.token) as worker, \
            Client(url, reviewer.token) as checker:
        project = admin.create_project("Dist", TEXT_SCHEMA)["id"]
        admin.update_project(project, review_mode="all")
        path = tmp_path / "items.jsonl"
        path.write_bytes(b"".join(orjson.dumps({"external_id": f"d{i}", "data": {"text": f"t{i}"}}) + b"\n"
                                  for i in range(3)))
        assert admin.import_file(project, path)["state"] == "succeeded"

        first = worker.next_item(project)
        assert first is not None and worker.next_item(project)["lease"]["id"] == first["lease"]["id"]
        assert worker.heartbeat(first["lease"]["id"])["id"] == first["lease"]["id"]
        worker.skip(first["item"]["id"], "cannot read it")
        second = worker.next_item(project)
        assert second["item"]["id"] != first["item"]["id"]
        submitted = worker.submit(second["item"]["id"], {"sentiment": "positive"}, idempotency_key="k1")
        assert submitted["review_status"] == "pending"

        task = checker.next_review(project)
        assert task is not None and task["annotation"]["id"] == submitted["id"]
        decided = checker.review(submitted["id"], "reject", comment="Neutral, not positive.", idempotency_key="r1")
        assert checker.review(submitted["id"], "reject", comment="Neutral, not positive.",
                              idempotency_key="r1")["id"] == decided["id"]
        assert [a["review_comment"] for a in worker.returned(project)] == ["Neutral, not positive."]
        with pytest.raises(ApiError) as refused:
            worker.review(submitted["id"], "accept")
        assert refused.value.status == 403
        assert [r["decision"] for r in worker.reviews(submitted["id"])] == ["reject"]

        third = worker.next_item(project)
        worker.release(third["lease"]["id"])
        status = admin.status(project)
        assert status["items"]["rejected"] == 1 and status["items"]["new"] == 2
        assert status["annotators"][0]["skipped"] == 1

    result = CliRunner().invoke(app, ["project", "status", project, "--url", url, "--token", owner.token])
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output and annotator.email in result.output
