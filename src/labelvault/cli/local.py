"""Administrative commands that act on the local database directly: serve, migrate, admin, demo."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from labelvault.accounts import service as accounts
from labelvault.cli.common import console
from labelvault.config import Settings
from labelvault.db.engine import build_engine, session_factory, transaction
from labelvault.db.migrate import check as check_migrations
from labelvault.db.migrate import upgrade
from labelvault.errors import DomainError
from labelvault.ops import serving

admin_app = typer.Typer(help="Create administrators (acts on the local database).", no_args_is_help=True)


def migrate() -> None:
    """Bring the database schema up to date (safe to run on every upgrade)."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    console.print("Database is up to date.")


def check_schema() -> None:
    """Fail when the models and the migrations disagree (for CI)."""
    check_migrations(Settings().resolved_database_url)
    console.print("Models and migrations agree.")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (each stateless).")] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Run migrations first.")] = True,
) -> None:
    """Run the HTTP server (API and pages)."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate_first:
        upgrade(settings.resolved_database_url)
    settings.secret_key  # noqa: B018 - created before workers start, so they share it
    console.print(f"labelvault listening on http://{host}:{port}")
    # (Off Linux, uvicorn's supervisor runs the processes: one that is merely slow on a busy host must not be
    # killed by its health check.)
    status = serving.serve(host, port, workers, access_log=False, log_level="warning", timeout_worker_healthcheck=30)
    if status:
        console.print(f"[red]Error:[/] the server processes kept ending as they started; is port {port} free?")
        raise typer.Exit(status)


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="The administrator's e-mail.")],
    organization: Annotated[str, typer.Option("--org", help="Name of the organization to create.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Create an administrator and their organization; prints a random password once unless given one."""
    settings = Settings()
    upgrade(settings.resolved_database_url)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    engine = build_engine(settings.resolved_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            created = accounts.create_admin(session, email, organization, password)
    except DomainError as exc:
        console.print(f"[red]Error:[/] {escape(exc.message)}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    organization_name = escape(repr(created.organization.name))
    console.print(f"Administrator {escape(created.user.email)} owns organization {organization_name} "
                  f"({created.organization.id}).")
    if created.password:
        console.print(f"Password (shown once): [bold]{created.password}[/]")
