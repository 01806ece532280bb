"""Commands that move a project's data in and out: predictions, format exports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from labelvault.cli.common import DEFAULT_URL, TokenOption, UrlOption, api, console

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
