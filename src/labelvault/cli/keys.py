"""`labelvault keys` and `labelvault project shred`: key rotation and crypto-shred (local database)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from labelvault.cli.common import console
from labelvault.config import Settings
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.rotation import rotate_kek, rotate_project_key, shred_project
from labelvault.crypto.service import Envelope
from labelvault.db.engine import build_engine, session_factory, transaction
from labelvault.errors import DomainError

keys_app = typer.Typer(help="Encryption keys of stored content (acts on the local database).", no_args_is_help=True)


@keys_app.command("rotate-kek")
def keys_rotate_kek(
    remove_old: Annotated[bool, typer.Option(help="Delete key-encryption key files that no longer wrap any data "
                                                  "key (keep them while older backups may be restored).")] = False,
) -> None:
    """Add a new key-encryption key and re-wrap every project's data keys with it, while servers keep running."""
    settings = Settings()
    engine = build_engine(settings.resolved_database_url)
    try:
        rotation = rotate_kek(session_factory(engine), LocalKeyProvider(settings.resolved_key_dir),
                              remove_old=remove_old)
    finally:
        engine.dispose()
    removed = f"; removed {', '.join(rotation.removed)}" if rotation.removed else ""
    console.print(f"Key-encryption key {rotation.kek_id} is current; {rotation.rewrapped} data keys re-wrapped"
                  f"{removed}.")


@keys_app.command("rotate-project")
def keys_rotate_project(project: Annotated[str, typer.Argument(help="The project's id.")]) -> None:
    """Give a project a new data key for new content; content sealed with earlier keys stays readable."""
    settings = Settings()
    engine = build_engine(settings.resolved_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            version = rotate_project_key(session, Envelope(LocalKeyProvider(settings.resolved_key_dir)), project)
    except DomainError as exc:
        console.print(f"[red]Error:[/] {escape(exc.message)}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"Project {escape(project)} seals new content with data key version {version}.")


def project_shred(
    project: Annotated[str, typer.Argument(help="The project's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Crypto-shred a project: destroy its data keys so that its items, annotations and media can never be read
    again, in the database, its backups or the media store."""
    if not yes:
        typer.confirm(f"Destroy every key of project {project}? Its content becomes unreadable for good.",
                      abort=True)
    settings = Settings()
    engine = build_engine(settings.resolved_database_url)
    try:
        with transaction(session_factory(engine)) as session:
            count = shred_project(session, Envelope(LocalKeyProvider(settings.resolved_key_dir)), project)
    except DomainError as exc:
        console.print(f"[red]Error:[/] {escape(exc.message)}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"Project {escape(project)}: {count} data keys destroyed; its content cannot be decrypted. "
                  "Running servers drop their cached keys within a minute.")
