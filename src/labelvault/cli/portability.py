"""Commands that move a project's data in and out: predictions, format exports, the exit bundle and its restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from labelvault.app import local_stores
from labelvault.cli.common import DEFAULT_URL, TokenOption, UrlOption, api, console, out
from labelvault.config import Settings
from labelvault.db.engine import build_engine
from labelvault.db.migrate import upgrade
from labelvault.errors import DomainError
from labelvault.exports.restore import restore_file
from labelvault.kit.sealing import SealError, seal

predictions_app = typer.Typer(help="Model predictions (pre-labels), kept apart from annotations.",
                              no_args_is_help=True)


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                    console=console)


def _print_problems(problems: list[dict[str, Any]]) -> None:
    for problem in problems[:20]:
        where = f"line {problem['line']}" + (f", {problem['field']}" if problem["field"] else "")
        console.print(f"  [yellow]{escape(where)}[/]: {escape(problem['reason'])}")
    if len(problems) > 20:
        console.print(f"  ... and {len(problems) - 20} more")


@predictions_app.command("import")
def predictions_import(
    project_id: str,
    file: Annotated[Path, typer.Argument(help="JSONL: external_id, model_name, model_version, answers, score.",
                                         exists=True, dir_okay=False)],
    all_or_nothing: Annotated[bool, typer.Option(help="Store nothing if any line is bad.")] = False,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Import predictions for existing items, with progress and every rejected line reported."""
    with api(url, token) as client, _bar() as progress:
        job = client.start_prediction_import(project_id, file, all_or_nothing=all_or_nothing)
        work = progress.add_task("import", total=job["total"] or None)
        job = client.wait(job["id"], on_progress=lambda done, total: progress.update(work, completed=done))
        problems = list(client.job_problems(job["id"])) if job["stats"].get("rejected") else []
    stats = job["stats"]
    console.print(f"Job {job['id']} {job['state']}: {stats.get('imported', 0)} stored, "
                  f"{stats.get('rejected', 0)} rejected.")
    if job.get("error"):
        console.print(f"[red]{escape(job['error'])}[/]")
    _print_problems(problems)
    if job["state"] != "succeeded":
        raise typer.Exit(1)


def project_export(
    project_id: str,
    format: Annotated[str, typer.Option("--format", "-f", help="A format (see `labelvault formats`).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Destination file.")],
    state: Annotated[list[str] | None, typer.Option(help="Only items in this state (repeatable).")] = None,
    only_accepted: Annotated[bool, typer.Option(help="Only items accepted in review.")] = False,
    split: Annotated[str | None, typer.Option(help="Only items whose metadata.split is this.")] = None,
    since: Annotated[str | None, typer.Option(help="Only annotations updated at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Only annotations updated before (ISO 8601).")] = None,
    include_drafts: Annotated[bool, typer.Option(help="Include draft annotations.")] = False,
    predictions: Annotated[bool, typer.Option(help="Include predictions where the format can.")] = False,
    aggregated: Annotated[bool, typer.Option(
        "--aggregated", help="Quality control's aggregated label (and its confidence) per item in place of the "
                             "annotations.")] = False,
    without_gold: Annotated[bool, typer.Option("--without-gold", help="Leave out gold items.")] = False,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Export a project in a format as a job, with a progress bar, into a file."""
    with api(url, token) as client, _bar() as progress:
        job = client.start_export(project_id, format, states=state, only_accepted=only_accepted, split=split,
                                  since=since, until=until, include_drafts=include_drafts, predictions=predictions,
                                  aggregated=aggregated or None, include_gold=False if without_gold else None)
        work = progress.add_task(f"export {format}", total=None)
        job = client.wait(job["id"], on_progress=lambda done, total: progress.update(
            work, completed=done, total=total or None))
        if job["state"] == "succeeded":
            client.download_export(job["id"], output)
    if job["state"] != "succeeded":
        console.print(f"[red]Export failed:[/] {escape(job.get('error') or '')}")
        raise typer.Exit(1)
    stats = job["stats"]
    console.print(f"Wrote {stats.get('items', 0):,} items, {stats.get('annotations', 0):,} annotations "
                  f"({stats.get('bytes', 0):,} bytes) to {escape(str(output))}.")
    for note in stats.get("notes", []):
        console.print(f"  [yellow]not expressible:[/] {escape(note)}")


def list_formats(url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """List the export formats (and which can be imported)."""
    with api(url, token) as client:
        for f in client.export_formats():
            out.print(f"{f['name']:<14} .{f['extension']:<8} {'import+export' if f['importable'] else 'export':<14} "
                      f"{f['description']}")


def _secret_file(path: Path | None) -> bytes | None:
    if path is None:
        return None
    secret = path.read_bytes().rstrip(b"\r\n")
    if not secret:
        console.print(f"[red]Error:[/] {escape(str(path))} is empty.")
        raise typer.Exit(2)
    return secret


def project_bundle(
    project_id: str,
    output: Annotated[Path, typer.Argument(help="Destination (.tar.zst).")],
    encrypt_to: Annotated[Path | None, typer.Option(help="Seal for this X25519 public key (PEM file).",
                                                    exists=True, dir_okay=False)] = None,
    passphrase_file: Annotated[Path | None, typer.Option(help="Seal with the passphrase in this file.",
                                                         exists=True, dir_okay=False)] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Download the project's exit bundle: everything about it, with a SHA-256 manifest; optionally sealed."""
    if encrypt_to and passphrase_file:
        console.print("[red]Error:[/] give --encrypt-to or --passphrase-file, not both.")
        raise typer.Exit(2)
    recipient = encrypt_to.read_bytes() if encrypt_to else None
    passphrase = _secret_file(passphrase_file)
    plain = output.with_name(output.name + ".plain") if recipient or passphrase else output
    with api(url, token) as client, _bar() as progress:
        work = progress.add_task("bundle", total=None)
        job = client.bundle_to(project_id, plain, on_progress=lambda done, total: progress.update(
            work, completed=done, total=total or None))
    if recipient or passphrase:
        try:
            with plain.open("rb") as source, output.open("wb") as target:
                seal(source, target, passphrase=passphrase, recipient=recipient)
        except SealError as exc:
            console.print(f"[red]Error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None
        finally:
            plain.unlink(missing_ok=True)
    console.print(f"Wrote the bundle of project {project_id} ({job['stats'].get('files', 0)} files) to "
                  f"{escape(str(output))}{' (sealed)' if recipient or passphrase else ''}.")


def project_restore(
    bundle: Annotated[Path, typer.Argument(help="A bundle (.tar.zst, sealed or not).", exists=True, dir_okay=False)],
    organization: Annotated[str | None, typer.Option(help="Restore into this organization (id); default: the "
                                                          "bundle's own, made if missing.")] = None,
    passphrase_file: Annotated[Path | None, typer.Option(help="Passphrase of a sealed bundle.", exists=True,
                                                         dir_okay=False)] = None,
    identity: Annotated[Path | None, typer.Option(help="X25519 private key (PEM) of a bundle sealed to you.",
                                                  exists=True, dir_okay=False)] = None,
) -> None:
    """Restore a project from a bundle into this instance's database (local; checks every file first)."""
    settings = Settings()
    upgrade(settings.resolved_database_url)
    engine = build_engine(settings.resolved_database_url)
    factory, media = local_stores(settings, engine)
    try:
        restored = restore_file(factory, media, bundle,
                                organization_id=organization, passphrase=_secret_file(passphrase_file),
                                identity=identity.read_bytes() if identity else None)
    except DomainError as exc:
        console.print(f"[red]Refused:[/] {escape(exc.message)}")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    counts = ", ".join(f"{n:,} {table}" for table, n in restored.rows.items() if n)
    console.print(f"Restored project {restored.project_id} into organization {restored.organization_id}: {counts}; "
                  f"{restored.media} media files.")
    out.print(restored.project_id)
