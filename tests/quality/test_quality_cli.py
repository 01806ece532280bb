"""`labelvault quality report` against a real server process."""

from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from labelvault.accounts.models import Role
from labelvault.cli.main import app
from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA, ServerProcess, make_actor, server_on_fresh_database


@pytest.fixture(scope="module")
def remote(db_kind: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[ServerProcess, sessionmaker[Session]]]:
    with server_on_fresh_database(db_kind, tmp_path_factory.mktemp("quality-cli"), pg_admin_url,
                                  LABELVAULT_JOB_POLL_SECONDS="0.1") as running:
        yield running


@pytest.mark.slow
def test_quality_report_refreshes_and_prints_scorecards(remote, tmp_path):
    server, factory = remote
    owner = make_actor(factory, Role.owner)
    annotators = [make_actor(factory, Role.annotator, organization_id=owner.organization_id) for _ in range(2)]
    with Client(server.url, owner.token) as client:
        project = client.create_project("Quality CLI", TEXT_SCHEMA, default_overlap=2)
        lines = b"".join(orjson.dumps({"external_id": f"t{i}", "data": {"text": f"text {i}"}}) + b"\n"
                         for i in range(3))
        (tmp_path / "items.jsonl").write_bytes(lines)
        assert client.import_file(project["id"], tmp_path / "items.jsonl")["state"] == "succeeded"
        items = sorted(client.items(project["id"]), key=lambda i: i["external_id"])
        client.set_gold(items[0]["id"], {"sentiment": "negative"})
    for person, answer in zip(annotators, ["negative", "positive"], strict=True):
        with Client(server.url, person.token) as client:
            for item in items:
                client.submit(item["id"], {"sentiment": answer}, time_spent_ms=10_000)

    runner = CliRunner()
    args = ["quality", "report", project["id"], "--url", server.url, "--token", owner.token]
    missing = runner.invoke(app, args)
    assert missing.exit_code == 1 and "not found" in missing.output
    shown = runner.invoke(app, [*args, "--refresh"])
    assert shown.exit_code == 0, shown.output
    assert "Scorecards" in shown.stdout and "sentiment" in shown.stdout
    assert annotators[0].user_id in shown.stdout and annotators[1].user_id in shown.stdout
    as_json = runner.invoke(app, [*args, "--json"])
    cards = {c["user_id"]: c for c in json.loads(as_json.stdout)["report"]["scorecards"]}
    assert cards[annotators[0].user_id]["gold_accuracy"] == 1.0
    assert cards[annotators[1].user_id]["gold_accuracy"] == 0.0
    assert cards[annotators[1].user_id]["below_gold_threshold"] is True
    exported = runner.invoke(app, ["quality", "aggregates", project["id"], "-o", str(tmp_path / "agg.jsonl"),
                                   "--url", server.url, "--token", owner.token])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in (tmp_path / "agg.jsonl").read_text().splitlines()]
    # Two real items, one question answered (sentiment), the annotators disagree on each.
    assert sorted(r["item_id"] for r in rows) == sorted(i["id"] for i in items[1:])
    assert {(r["question"], r["confidence"], r["annotations"]) for r in rows} == {("sentiment", 0.5, 2)}
