"""`labelvault ledger`: verify the access ledger, seal it now, and exposure reports (local database)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from labelvault.accounts.models import Role
from labelvault.cli.common import console
from labelvault.config import Settings
from labelvault.db.engine import build_engine, session_factory, transaction
from labelvault.ledger import exposure
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.verify import verify
from labelvault.ledger.writer import Sealer
from labelvault.security.policy import Principal

ledger_app = typer.Typer(help="The access ledger (acts on the local database).", no_args_is_help=True)


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    return session_factory(build_engine(settings.resolved_database_url))


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Check every entry's hash, every position and every signed checkpoint; exit 1 and say where on damage."""
    settings = Settings()
    public_key = load_or_create_signer(settings.data_dir).public_hex
    with transaction(_factory(settings), write=False) as session:
        report = verify(session, public_key)
    console.print(f"{report.entries} chained entries, {report.unsealed} not yet chained, "
                  f"{report.checkpoints} checkpoints")
    if report.ok:
        console.print("Ledger verified: no entry changed, missing, inserted or moved.")
        return
    for problem in report.problems:
        console.print(f"[red]{escape(problem)}[/red]")
    raise typer.Exit(1)


@ledger_app.command("seal")
def ledger_seal() -> None:
    """Chain all pending entries and sign a checkpoint now (the server's sealer does this on its own)."""
    settings = Settings()
    sealer = Sealer(_factory(settings), settings.data_dir, every=1, max_age_seconds=0, poll_seconds=0)
    console.print(f"{sealer.run_once()} entries chained.")


@ledger_app.command("exposure")
def ledger_exposure(
    organization: Annotated[str, typer.Option("--org", help="Organization id the report is about.")],
    item: Annotated[str, typer.Option(help="Who saw this item.")] = "",
    user: Annotated[str, typer.Option(help="Everything this person saw.")] = "",
    vendor: Annotated[str, typer.Option(help="Everything this vendor's people saw.")] = "",
    format: Annotated[str, typer.Option(help="csv or jsonl.")] = "csv",
) -> None:
    """Write an exposure report (CSV or JSONL) to standard output."""
    if format not in ("csv", "jsonl") or sum(map(bool, (item, user, vendor))) != 1:
        console.print("[red]Give exactly one of --item, --user, --vendor, and --format csv or jsonl.[/red]")
        raise typer.Exit(2)
    settings = Settings()
    with transaction(_factory(settings), write=False) as session:
        # The local administrator reads the database directly, as `ledger verify` does.
        principal = Principal(user_id="", email="", organization_id=organization, role=Role.owner, is_admin=True)
        rows = (exposure.item_exposure(session, principal, item) if item else
                exposure.actor_exposure(session, principal, user_id=user or None, vendor_id=vendor or None))
    sys.stdout.write(exposure.to_csv(rows) if format == "csv" else exposure.to_jsonl(rows))
