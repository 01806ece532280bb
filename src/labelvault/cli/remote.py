"""Commands that talk to a server through the SDK: org, project, import, export, token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table

from labelvault.cli.common import DEFAULT_URL, TokenOption, UrlOption, api, console, id_column, out, print_json

org_app = typer.Typer(help="Organizations (instance administrators).", no_args_is_help=True)
project_app = typer.Typer(help="Projects and their label schemas.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
member_app = typer.Typer(help="Members of your organization and their roles.", no_args_is_help=True)
ROLES = ("owner", "manager", "reviewer", "annotator")


def read_json_file(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        console.print(f"[red]Error:[/] {what} file {escape(str(path))} does not exist.")
    except json.JSONDecodeError as exc:
        console.print(f"[red]Error:[/] {escape(str(path))}, line {exc.lineno}, column {exc.colno}: {exc.msg}")
    except UnicodeDecodeError:
        console.print(f"[red]Error:[/] {what} file {escape(str(path))} is not UTF-8 text.")
    except IsADirectoryError:
        console.print(f"[red]Error:[/] {what} file {escape(str(path))} is a directory.")
    raise typer.Exit(2)


@org_app.command("list")
def org_list(url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """List organizations."""
    with api(url, token) as client:
        table = Table(id_column(), "name", "slug")
        for org in client.organizations():
            table.add_row(org["id"], escape(org["name"]), org["slug"])
        out.print(table)


@org_app.command("create")
def org_create(name: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Create an organization; you become its owner."""
    with api(url, token) as client:
        print_json(client.create_organization(name))


@project_app.command("create")
def project_create(
    name: Annotated[str, typer.Option(help="Project name.")],
    schema: Annotated[Path, typer.Option(help="JSON file with the label schema (fields and questions).")],
    guidelines: Annotated[Path | None, typer.Option(help="Markdown file with the guidelines.", exists=True,
                                                    dir_okay=False)] = None,
    overlap: Annotated[int, typer.Option(help="Annotators per item.")] = 1,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Create a project from a schema file."""
    definition = read_json_file(schema, "schema")
    text = guidelines.read_text() if guidelines else ""
    with api(url, token) as client:
        project = client.create_project(name, definition, guidelines=text, default_overlap=overlap)
        console.print(f"Created project [bold]{escape(project['name'])}[/] ({project['id']}).")
        out.print(project["id"])


@project_app.command("list")
def project_list(url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """List projects."""
    with api(url, token) as client:
        table = Table(id_column(), "name", "schema version", "overlap")
        for project in client.projects():
            table.add_row(project["id"], escape(project["name"]), str(project["schema_version"]),
                          str(project["default_overlap"]))
        out.print(table)


@project_app.command("status")
def project_status(project_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Queue state: items per state and each annotator's submitted, drafts, skipped and live leases."""
    with api(url, token) as client:
        status = client.status(project_id)
    states = Table("state", "items", title="Items")
    for state, count in status["items"].items():
        states.add_row(state, f"{count:,}")
    out.print(states)
    people = Table("annotator", "submitted", "drafts", "skipped", "leased", title="Annotators")
    for person in status["annotators"]:
        people.add_row(escape(person["email"] or person["user_id"]), str(person["submitted"]), str(person["drafts"]),
                       str(person["skipped"]), str(person["leased"]))
    out.print(people)


@project_app.command("show")
def project_show(project_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Show a project with its schema and item counts."""
    with api(url, token) as client:
        print_json(client.project(project_id))


def import_items(
    project_id: str,
    file: Annotated[Path, typer.Argument(help="JSONL, JSON array or CSV file.", exists=True, dir_okay=False)],
    format: Annotated[str | None, typer.Option(help="jsonl, json or csv (default: from the extension).")] = None,
    on_conflict: Annotated[str, typer.Option(help="Existing external_id: skip or update.")] = "skip",
    all_or_nothing: Annotated[bool, typer.Option(help="Import nothing if any line is bad.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write rejected lines (JSONL) to this file.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Import items from a file, with progress and a report of every rejected line."""
    with api(url, token) as client, Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeElapsedColumn(), console=console,
    ) as progress:
        upload = progress.add_task("upload", total=file.stat().st_size)
        job = client.start_import(project_id, file, format=format, on_conflict=on_conflict,
                                  all_or_nothing=all_or_nothing,
                                  on_upload=lambda done, total: progress.update(upload, completed=done))
        work = progress.add_task("import", total=job["total"])
        job = client.wait(job["id"], on_progress=lambda done, total: progress.update(work, completed=done))
    stats = job["stats"]
    console.print(f"Job {job['id']} {job['state']}: {stats.get('imported', 0)} imported, "
                  f"{stats.get('updated', 0)} updated, {stats.get('skipped', 0)} skipped, "
                  f"{stats.get('rejected', 0)} rejected.")
    if job.get("error"):
        console.print(f"[red]{escape(job['error'])}[/]")
    problems: list[dict[str, Any]] = []
    if stats.get("rejected"):
        with api(url, token) as client:
            problems = list(client.job_problems(job["id"]))
        for problem in problems[:20]:
            where = f"line {problem['line']}" + (f", {problem['field']}" if problem["field"] else "")
            # Reasons quote the file's content: escaped, so that '[' in it is not taken for markup.
            console.print(f"  [yellow]{escape(where)}[/]: {escape(problem['reason'])}")
        if len(problems) > 20:
            console.print(f"  ... and {len(problems) - 20} more")
    if report:
        # Written even when empty, so a script never reads the report of an earlier import.
        with report.open("w") as handle:
            for problem in problems:
                handle.write(json.dumps(problem) + "\n")
        console.print(f"Report written to {escape(str(report))}.")
    if job["state"] != "succeeded":
        raise typer.Exit(1)


def export_items(
    project_id: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="Destination file (.jsonl).")],
    state: Annotated[list[str] | None, typer.Option(help="Only items in this state (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="Only annotations updated at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Only annotations updated before (ISO 8601).")] = None,
    revisions: Annotated[bool, typer.Option(help="Include earlier revisions of annotations.")] = False,
    include_drafts: Annotated[bool, typer.Option(help="Include draft annotations.")] = False,
    aggregated: Annotated[bool, typer.Option(
        "--aggregated", help="Quality control's aggregates (value and confidence per question) in place of the "
                             "annotations.")] = False,
    without_gold: Annotated[bool, typer.Option("--without-gold", help="Leave out gold items.")] = False,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Export a project as full-fidelity JSONL (streamed)."""
    with api(url, token) as client, Progress(
        TextColumn("export"), DownloadColumn(), TransferSpeedColumn(), TimeElapsedColumn(), console=console,
    ) as progress:
        task = progress.add_task("export", total=None)
        size = client.export_to(project_id, output, state=state, since=since, until=until, revisions=revisions,
                                include_drafts=include_drafts, aggregated=aggregated or None,
                                include_gold=False if without_gold else None,
                                on_progress=lambda n: progress.update(task, completed=n))
    console.print(f"Wrote {size:,} bytes to {escape(str(output))}.")


@token_app.command("create")
def token_create(
    name: str,
    expires_in_days: Annotated[int | None, typer.Option(help="Lifetime in days.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Create an API token; its secret is printed once."""
    with api(url, token) as client:
        created = client.create_token(name, expires_in_days)
    console.print(f"Token {created['id']} created; the secret is shown only now:")
    out.print(created["token"])


@token_app.command("list")
def token_list(url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """List API tokens (yours, or everyone's for owners)."""
    with api(url, token) as client:
        table = Table(id_column(), "name", "prefix", "last used", "revoked")
        for t in client.tokens():
            table.add_row(t["id"], escape(t["name"]), t["prefix"], t["last_used_at"] or "-", t["revoked_at"] or "-")
        out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Revoke an API token."""
    with api(url, token) as client:
        client.revoke_token(token_id)
    console.print(f"Token {token_id} revoked.")


def _check_role(role: str) -> str:
    if role not in ROLES:
        console.print(f"[red]Error:[/] the role must be one of {', '.join(ROLES)}, not {escape(role)!r}.")
        raise typer.Exit(2)
    return role


@member_app.command("list")
def member_list(url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """List the members of your organization with their roles."""
    with api(url, token) as client:
        table = Table(id_column("user id"), Column("role", no_wrap=True), Column("e-mail", overflow="fold"),
                      Column("name", overflow="fold"))
        for m in client.members():
            table.add_row(m["user_id"], m["role"], escape(m["email"]), escape(m["name"]))
        out.print(table)


@member_app.command("invite")
def member_invite(email: str, role: Annotated[str, typer.Option(help="owner, manager, reviewer or annotator.")]
                  = "annotator",
                  vendor: Annotated[str | None, typer.Option(help="Invite to work for this vendor (id).")] = None,
                  url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Invite someone by e-mail; prints the single-use link (also e-mailed when SMTP is configured)."""
    with api(url, token) as client:
        created = client.invite(email, _check_role(role), vendor)
    console.print(f"Invited {escape(created['email'])} as {created['role']} until {created['expires_at']}.")
    out.print(created["link"])


@member_app.command("role")
def member_role(user_id: str, role: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Give a member another role (owners only)."""
    with api(url, token) as client:
        changed = client.change_role(user_id, _check_role(role))
    console.print(f"{escape(changed['email'])} is now {changed['role']}.")


@member_app.command("remove")
def member_remove(user_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Remove a member at once: their tokens and sessions stop working here; their work stays."""
    with api(url, token) as client:
        client.remove_member(user_id)
    console.print(f"Member {user_id} removed; the items they held are back in the queue.")


@member_app.command("skills")
def member_skills(user_id: str, skills: Annotated[list[str] | None, typer.Argument(help="The member's skills "
                                                                                        "(none: clear them).")]
                  = None, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Say what a member is qualified for (routing rules may ask for a skill)."""
    with api(url, token) as client:
        done = client.set_skills(user_id, skills or [])
    console.print(f"Skills of {user_id}: {', '.join(done['skills']) or 'none'}.")
