"""`labelvault ledger seal | verify | exposure` on the local database."""

from __future__ import annotations

from sqlalchemy import text
from typer.testing import CliRunner

from labelvault.cli.main import app
from labelvault.db.engine import transaction


def _run(settings, *args):
    env = {"LABELVAULT_DATA_DIR": str(settings.data_dir), "LABELVAULT_DATABASE_URL": settings.database_url,
           "COLUMNS": "200", "NO_COLOR": "1"}
    return CliRunner().invoke(app, ["ledger", *args], env=env)


def test_seal_verify_and_exposure_from_the_command_line(client, settings, factory, owner):
    client.post("/api/v1/tokens", json={"name": "a"}, headers=owner.headers)
    client.post("/api/v1/tokens", json={"name": "b"}, headers=owner.headers)
    sealed = _run(settings, "seal")
    assert sealed.exit_code == 0 and "2 entries chained" in sealed.output
    verified = _run(settings, "verify")
    assert verified.exit_code == 0, verified.output
    assert "2 chained entries" in verified.output
    with transaction(factory) as session:
        session.execute(text("UPDATE ledger_entries SET route = 'x' WHERE position = 2"))
    damaged = _run(settings, "verify")
    assert damaged.exit_code == 1 and "position 2 " in damaged.output
    report = _run(settings, "exposure", "--org", owner.organization_id, "--user", owner.user_id)
    assert report.exit_code == 0 and report.output.startswith("item_id,")
    assert _run(settings, "exposure", "--org", owner.organization_id).exit_code == 2
