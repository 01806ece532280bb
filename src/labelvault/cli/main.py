"""The `labelvault` command."""

from __future__ import annotations

import typer

from labelvault.cli import local, portability, remote, workforce
from labelvault.cli.demo import run_demo
from labelvault.cli.keys import keys_app, project_shred
from labelvault.cli.ledger import ledger_app
from labelvault.cli.quality import quality_app

app = typer.Typer(help="labelvault: self-hosted, vendor-neutral AI training data.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.command("serve")(local.serve)
app.command("migrate")(local.migrate)
app.command("check-migrations")(local.check_schema)
app.command("demo")(run_demo)
app.add_typer(local.admin_app, name="admin")
app.add_typer(ledger_app, name="ledger")
app.add_typer(keys_app, name="keys")
app.add_typer(remote.org_app, name="org")
app.add_typer(remote.project_app, name="project")
app.add_typer(remote.token_app, name="token")
app.add_typer(remote.member_app, name="member")
app.add_typer(workforce.vendor_app, name="vendor")
app.add_typer(workforce.team_app, name="team")
app.add_typer(quality_app, name="quality")
app.add_typer(portability.predictions_app, name="predictions")
remote.project_app.command("export")(portability.project_export)
remote.project_app.command("bundle")(portability.project_bundle)
remote.project_app.command("restore")(portability.project_restore)
remote.project_app.command("shred")(project_shred)
app.command("formats")(portability.list_formats)
app.command("import")(remote.import_items)
app.command("export")(remote.export_items)

if __name__ == "__main__":
    app()
