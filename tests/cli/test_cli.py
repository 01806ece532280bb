"""The `labelvault` command: local administrative commands on a database, remote ones against a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import Result
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from labelvault.accounts.models import Role
from labelvault.cli.main import app
from labelvault.db.engine import build_engine, session_factory
from labelvault.db.migrate import upgrade
from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA, Actor, ServerProcess, free_port, fresh_database, make_actor, start_server

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def invoke(args: list[str], env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """Run the command in-process, its output going to a pipe 80 columns wide (as in CI logs)."""
    return CliRunner().invoke(app, args, env={"COLUMNS": "80", "NO_COLOR": "1", **(env or {})}, input=input)


def text(output: str) -> str:
    """Output without colours, on one line (messages are never wrapped: a path would not come apart)."""
    return " ".join(ANSI.sub("", output).split())


# -- local commands ---------------------------------------------------------------------------------------


def local_env(settings: Any) -> dict[str, str]:
    return {"LABELVAULT_DATA_DIR": str(settings.data_dir), "LABELVAULT_DATABASE_URL": settings.database_url}


def test_admin_create_prints_a_password_once_that_signs_in(client, settings):
    result = invoke(["admin", "create", "--email", "Root@Example.test", "--org", "Acme Labs"], local_env(settings))
    assert result.exit_code == 0, result.output
    output = text(result.output)
    assert "Administrator root@example.test owns organization 'Acme Labs'" in output
    found = re.findall(r"Password \(shown once\): (\S+)", output)
    assert len(found) == 1
    password = found[0]
    assert output.count(password) == 1 and len(password) >= 12

    login = client.post("/api/v1/auth/login", json={"email": "root@example.test", "password": password})
    assert login.status_code == 200, login.text
    assert login.json()["role"] == "owner" and login.json()["is_admin"] is True
    wrong = client.post("/api/v1/auth/login", json={"email": "root@example.test", "password": password + "x"})
    assert wrong.status_code == 401


def test_admin_create_with_a_password_from_stdin_prints_none(client, settings):
    result = invoke(["admin", "create", "--email", "ops@example.test", "--org", "Ops", "--password-stdin"],
                    local_env(settings), input="correct horse battery staple\n")
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output and "correct horse" not in result.output
    login = client.post("/api/v1/auth/login",
                        json={"email": "ops@example.test", "password": "correct horse battery staple"})
    assert login.status_code == 200, login.text


def test_admin_create_with_an_existing_email_fails_clearly(client, settings):
    first = invoke(["admin", "create", "--email", "dup@example.test", "--org", "One"], local_env(settings))
    assert first.exit_code == 0, first.output
    again = invoke(["admin", "create", "--email", "DUP@example.test", "--org", "Two"], local_env(settings))
    assert again.exit_code == 1
    assert text(again.output) == "Error: A user with e-mail dup@example.test exists already."
    not_email = invoke(["admin", "create", "--email", "nobody", "--org", "Three"], local_env(settings))
    assert not_email.exit_code == 1
    assert text(not_email.output) == "Error: 'nobody' is not an e-mail address."


def test_migrate_creates_the_schema_of_a_fresh_database(db_kind, pg_admin_url, tmp_path):
    with fresh_database(db_kind, tmp_path, pg_admin_url) as url:
        env = {"LABELVAULT_DATA_DIR": str(tmp_path / "data"), "LABELVAULT_DATABASE_URL": url}
        result = invoke(["migrate"], env)
        assert result.exit_code == 0, result.output
        assert text(result.output) == "Database is up to date."
        created = invoke(["admin", "create", "--email", "a@example.test", "--org", "A"], env)
        assert created.exit_code == 0, created.output
        check = invoke(["check-migrations"], env)
        assert check.exit_code == 0, check.output


# -- remote commands --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def remote(db_kind: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[ServerProcess, sessionmaker[Session]]]:
    """One server on its own fresh database for the module; each test makes its own organization."""
    directory = tmp_path_factory.mktemp("cli")
    with fresh_database(db_kind, directory, pg_admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        data_dir = directory / "data"
        data_dir.mkdir()
        server = start_server(data_dir, url, timeout=90, LABELVAULT_JOB_POLL_SECONDS="0.1")
        try:
            yield server, session_factory(engine)
        finally:
            server.stop()
            engine.dispose()


@pytest.fixture
def manager(remote: tuple[ServerProcess, sessionmaker[Session]]) -> Actor:
    return make_actor(remote[1], Role.owner)


def run(remote: tuple[ServerProcess, sessionmaker[Session]], actor: Actor, *args: str) -> Result:
    return invoke([*args, "--url", remote[0].url, "--token", actor.token])


def schema_file(tmp_path: Path, content: Any = TEXT_SCHEMA) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return path


def create_project(remote, actor, tmp_path: Path, name: str = "CLI project") -> str:
    result = run(remote, actor, "project", "create", "--name", name, "--schema", str(schema_file(tmp_path)))
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_project_create_list_and_show(remote, manager, tmp_path):
    guidelines = tmp_path / "guide.md"
    guidelines.write_text("# Be kind\n")
    result = run(remote, manager, "project", "create", "--name", "Reviews [v2]", "--schema", str(schema_file(tmp_path)),
                 "--guidelines", str(guidelines), "--overlap", "3")
    assert result.exit_code == 0, result.output
    project_id = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", project_id)
    assert f"Created project Reviews [v2] ({project_id})." in text(result.stderr)

    listed = run(remote, manager, "project", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if project_id in line)
    assert [cell.strip() for cell in row.strip("│┃ ").split("│")] == [project_id, "Reviews [v2]", "1", "3"]

    shown = run(remote, manager, "project", "show", project_id)
    assert shown.exit_code == 0, shown.output
    detail = json.loads(shown.stdout)
    assert detail["name"] == "Reviews [v2]" and detail["guidelines"] == "# Be kind\n"
    assert detail["schema"]["questions"][0]["name"] == "sentiment"

    missing = run(remote, manager, "project", "show", "00000000-0000-7000-8000-000000000000")
    assert missing.exit_code == 1
    assert text(missing.output) == "Error: project not found. (not_found) {'kind': 'project'}"


@pytest.mark.slow
def test_project_create_names_the_line_and_column_of_a_schema_syntax_error(remote, manager, tmp_path):
    broken = schema_file(tmp_path, '{\n  "fields": [\n    {"name": "text" "kind": "text"}\n  ]\n}\n')
    result = run(remote, manager, "project", "create", "--name", "Broken", "--schema", str(broken))
    assert result.exit_code == 2
    assert text(result.output) == f"Error: {broken}, line 3, column 21: Expecting ',' delimiter"

    missing = tmp_path / "nope.json"
    result = run(remote, manager, "project", "create", "--name", "Broken", "--schema", str(missing))
    assert result.exit_code == 2
    assert text(result.output) == f"Error: schema file {missing} does not exist."

    invalid = schema_file(tmp_path, {"fields": [{"name": "text", "kind": "text"}], "questions": []})
    result = run(remote, manager, "project", "create", "--name", "Empty", "--schema", str(invalid))
    assert result.exit_code == 1
    assert text(result.output).startswith("Error: ")
    assert "(invalid_input)" in text(result.output)


@pytest.mark.slow
def test_import_prints_bad_lines_and_writes_the_report(remote, manager, tmp_path):
    project_id = create_project(remote, manager, tmp_path)
    source = tmp_path / "items.jsonl"
    source.write_bytes(
        b'{"external_id": "a", "data": {"text": "fine"}}\n'
        b'{"external_id": "b", "data": {"text": 3}}\n'
        b'{"external_id": "c", "data": {"text": "fine"\n'
        b"\n"
        b'{"external_id": "d", "data": {"text": "fine"}}\n'
        b'{"external_id": "a", "data": {"text": "again"}}\n'
        b'{"external_id": "[/bold]", "data": {"text": "fine"}}\n'
        b'{"external_id": "[/bold]", "data": {"text": "square brackets are not markup"}}\n'
    )
    report = tmp_path / "report.jsonl"
    result = run(remote, manager, "import", project_id, str(source), "--report", str(report))
    assert result.exit_code == 0, result.output
    output = text(result.output)
    assert re.search(r"Job \S+ succeeded: 3 imported, 0 updated, 0 skipped, 4 rejected\.", output)
    assert "line 2, data.text: must be a string, got int" in output
    assert "line 3: invalid JSON: Expecting ',' delimiter at column 45" in output
    assert "line 6, external_id: duplicate external_id 'a' (first on line 1)" in output
    assert "line 8, external_id: duplicate external_id '[/bold]' (first on line 7)" in output
    assert f"Report written to {report}." in output
    assert [orjson.loads(line) for line in report.read_bytes().splitlines()] == [
        {"line": 2, "field": "data.text", "reason": "must be a string, got int"},
        {"line": 3, "field": "", "reason": "invalid JSON: Expecting ',' delimiter at column 45"},
        {"line": 6, "field": "external_id", "reason": "duplicate external_id 'a' (first on line 1)"},
        {"line": 8, "field": "external_id", "reason": "duplicate external_id '[/bold]' (first on line 7)"},
    ]
    with Client(remote[0].url, manager.token) as client:
        assert sorted(item["external_id"] for item in client.items(project_id)) == ["[/bold]", "a", "d"]

    again = run(remote, manager, "import", project_id, str(source), "--report", str(report), "--all-or-nothing")
    assert again.exit_code == 1
    assert "4 bad lines; nothing was imported (all-or-nothing)" in text(again.output)
    assert len(report.read_bytes().splitlines()) == 4

    clean = tmp_path / "clean.csv"
    clean.write_text("external_id,text\ne,from csv\n")
    result = run(remote, manager, "import", project_id, str(clean), "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "1 imported, 0 updated, 0 skipped, 0 rejected." in text(result.output)
    assert report.read_bytes() == b""  # the report of a clean import is empty, not the previous one


@pytest.mark.slow
def test_export_writes_every_item(remote, manager, tmp_path):
    project_id = create_project(remote, manager, tmp_path)
    source = tmp_path / "items.json"
    source.write_bytes(orjson.dumps([{"external_id": f"x{i}", "data": {"text": f"t{i}"}} for i in range(12)]))
    imported = run(remote, manager, "import", project_id, str(source))
    assert imported.exit_code == 0, imported.output
    destination = tmp_path / "out.jsonl"
    result = run(remote, manager, "export", project_id, "-o", str(destination), "--state", "new")
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in destination.read_bytes().splitlines()]
    assert sorted(line["external_id"] for line in lines) == sorted(f"x{i}" for i in range(12))
    assert f"Wrote {destination.stat().st_size:,} bytes to {destination}." in text(result.output)
    none = run(remote, manager, "export", project_id, "-o", str(destination), "--state", "completed")
    assert none.exit_code == 0, none.output
    assert destination.read_bytes() == b""


@pytest.mark.slow
def test_token_create_and_revoke(remote, manager):
    created = run(remote, manager, "token", "create", "deploy", "--expires-in-days", "7")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("lv_")
    token_id = re.search(r"Token (\S+) created", text(created.stderr)).group(1)  # type: ignore[union-attr]
    as_new = invoke(["project", "list", "--url", remote[0].url, "--token", secret])
    assert as_new.exit_code == 0, as_new.output

    revoked = run(remote, manager, "token", "revoke", token_id)
    assert revoked.exit_code == 0, revoked.output
    assert text(revoked.output) == f"Token {token_id} revoked."
    refused = invoke(["project", "list", "--url", remote[0].url, "--token", secret])
    assert refused.exit_code == 1
    assert text(refused.output) == "Error: The API token is unknown, revoked or expired. (not_authenticated)"


def test_remote_commands_without_a_token_or_a_server_fail_clearly():
    no_token = invoke(["project", "list", "--url", "http://127.0.0.1:9"])
    assert no_token.exit_code == 2
    assert text(no_token.output).startswith("No API token. Pass --token or set LABELVAULT_TOKEN")
    url = f"http://127.0.0.1:{free_port()}"
    unreachable = invoke(["project", "list", "--url", url, "--token", "lv_x"])
    assert unreachable.exit_code == 1
    assert text(unreachable.output).startswith(f"Cannot reach {url}:")


def test_member_invite_role_and_remove(remote, manager):
    invited = run(remote, manager, "member", "invite", "new.person@example.test", "--role", "reviewer")
    assert invited.exit_code == 0, invited.output
    assert "/invite/" in invited.output and "reviewer" in invited.output
    colleague = make_actor(remote[1], Role.annotator, organization_id=manager.organization_id)
    listed = run(remote, manager, "member", "list")
    assert colleague.user_id in listed.output and "annotator" in listed.output
    promoted = run(remote, manager, "member", "role", colleague.user_id, "manager")
    assert promoted.exit_code == 0 and f"{colleague.email} is now manager." in text(promoted.output)
    wrong = run(remote, manager, "member", "role", colleague.user_id, "boss")
    assert wrong.exit_code == 2 and "the role must be one of" in text(wrong.output)
    assert run(remote, manager, "member", "remove", colleague.user_id).exit_code == 0
    gone = invoke(["project", "list", "--url", remote[0].url, "--token", colleague.token])
    assert gone.exit_code != 0
    last = run(remote, manager, "member", "remove", manager.user_id)
    assert last.exit_code != 0 and "at least one owner" in text(last.output)


@pytest.mark.slow
def test_predictions_format_export_bundle_and_restore(remote, manager, tmp_path, db_kind, pg_admin_url):
    project_id = create_project(remote, manager, tmp_path)
    items = tmp_path / "items.jsonl"
    items.write_bytes(b"".join(orjson.dumps({"external_id": f"x{i}", "data": {"text": f"=t{i}"}}) + b"\n"
                               for i in range(3)))
    assert run(remote, manager, "import", project_id, str(items)).exit_code == 0
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_bytes(
        orjson.dumps({"external_id": "x0", "model_name": "m", "model_version": "1",
                      "answers": {"sentiment": "positive"}}) + b"\n"
        + orjson.dumps({"external_id": "x1", "model_name": "m", "model_version": "1",
                        "answers": {"sentiment": "maybe"}}) + b"\n")
    imported = run(remote, manager, "predictions", "import", project_id, str(predictions))
    assert imported.exit_code == 0, imported.output
    assert "1 stored, 1 rejected" in text(imported.output)
    assert "line 2, answers.sentiment" in text(imported.output)

    listed = run(remote, manager, "formats")
    assert listed.exit_code == 0 and "label_studio" in listed.stdout
    destination = tmp_path / "out.csv"
    exported = run(remote, manager, "project", "export", project_id, "--format", "csv", "-o", str(destination))
    assert exported.exit_code == 0, exported.output
    assert destination.read_text().count("'=t") == 3
    assert "Wrote 3 items" in text(exported.output)

    secret = tmp_path / "passphrase"
    secret.write_text("a long passphrase\n")
    bundle = tmp_path / "p.tar.zst"
    made = run(remote, manager, "project", "bundle", project_id, str(bundle), "--passphrase-file", str(secret))
    assert made.exit_code == 0, made.output
    assert "(sealed)" in text(made.output)
    (tmp_path / "restore-db").mkdir()
    with fresh_database(db_kind, tmp_path / "restore-db", pg_admin_url) as url:
        env = {"LABELVAULT_DATA_DIR": str(tmp_path / "restored"), "LABELVAULT_DATABASE_URL": url}
        refused = invoke(["project", "restore", str(bundle)], env)
        assert refused.exit_code == 1 and "passphrase" in text(refused.output)
        restored = invoke(["project", "restore", str(bundle), "--passphrase-file", str(secret)], env)
        assert restored.exit_code == 0, restored.output
        assert restored.stdout.strip().splitlines()[-1] == project_id
        assert "3 items" in text(restored.output)


def test_vendor_team_routing_reroute_and_revoke(remote, manager, tmp_path):
    project_id = create_project(remote, manager, tmp_path)
    items = tmp_path / "items.jsonl"
    items.write_bytes(b"".join(orjson.dumps({"external_id": f"v{i}", "metadata": {"lang": "de" if i % 2 else "en"},
                                             "data": {"text": f"t{i}"}}) + b"\n" for i in range(4)))
    assert run(remote, manager, "import", project_id, str(items)).exit_code == 0
    first = run(remote, manager, "vendor", "create", "Acme").stdout.strip().splitlines()[-1]
    second = run(remote, manager, "vendor", "create", "Beta").stdout.strip().splitlines()[-1]
    reviewed = run(remote, manager, "vendor", "review", first, "--percent", "25")
    assert reviewed.exit_code == 0 and "check 25 %" in text(reviewed.output)
    assert run(remote, manager, "vendor", "review", first, "--percent", "101").exit_code == 2
    listed = run(remote, manager, "vendor", "list")
    assert "Acme" in listed.stdout and "Beta" in listed.stdout and "25 %" in listed.stdout
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"workforce_id": first, "match": {"metadata": {"lang": "de"}}}]))
    routed = run(remote, manager, "project", "routing", project_id, "--rules", str(rules))
    assert routed.exit_code == 0 and "1 rules set; 2 pending items changed pool." in text(routed.output)
    shown = run(remote, manager, "project", "routing", project_id)
    assert first in shown.stdout
    moved = run(remote, manager, "project", "reroute", project_id, "--from", first, "--to", second)
    assert moved.exit_code == 0 and "2 pending items moved." in text(moved.output)
    team = run(remote, manager, "team", "create", "Experts").stdout.strip().splitlines()[-1]
    colleague = make_actor(remote[1], Role.annotator, organization_id=manager.organization_id)
    assert run(remote, manager, "team", "add", team, colleague.user_id).exit_code == 0
    skilled = run(remote, manager, "member", "skills", colleague.user_id, "german", "legal")
    assert skilled.exit_code == 0 and "german, legal" in text(skilled.output)
    vendor_person = make_actor(remote[1], Role.annotator, organization_id=manager.organization_id,
                               vendor_id=second)
    with Client(remote[0].url, vendor_person.token) as client:
        work = client.next_item(project_id)
        assert work is not None
        client.submit(work["item"]["id"], {"sentiment": "positive"}, time_spent_ms=4000)
    scored = run(remote, manager, "quality", "report", project_id, "--refresh")
    assert scored.exit_code == 0, scored.output
    assert "Vendors" in scored.stdout and "Beta" in scored.stdout
    report = tmp_path / "exposure.csv"
    revoked = run(remote, manager, "vendor", "revoke", second, "--report", str(report))
    assert revoked.exit_code == 0, revoked.output
    assert "1 people lost access" in text(revoked.output) and report.read_text().startswith("item_id")
    gone = invoke(["project", "list", "--url", remote[0].url, "--token", vendor_person.token])
    assert gone.exit_code != 0
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert run(remote, manager, "project", "routing", project_id, "--rules", str(bad)).exit_code == 2
