"""`labelvault quality`: quality reports of a project, through the SDK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from labelvault.cli.common import DEFAULT_URL, TokenOption, UrlOption, api, console, out, print_json

quality_app = typer.Typer(help="Quality control: agreement, aggregates and scorecards.", no_args_is_help=True)


def _figure(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


@quality_app.command("report")
def quality_report(
    project_id: str,
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute first (runs a job and waits).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Agreement per question and annotator scorecards of a project (the last computed report)."""
    with api(url, token) as client:
        if refresh:
            job = client.refresh_quality(project_id)
            if job["state"] != "succeeded":
                console.print(f"[red]The refresh failed:[/] {escape(str(job.get('error')))}")
                raise typer.Exit(1)
        stored = client.quality_report(project_id)
        vendors = client.scorecards(project_id)["vendors"]
    report = stored["report"]
    if as_json:
        print_json(stored)
        return
    out.print(f"Computed {stored['computed_at']}: {report['annotations']:,} annotations of {report['items']:,} items "
              f"by {report['annotators']} annotators; {report['gold_items']:,} gold items; method {report['method']}.")
    agreement = Table("question", "type", "items", "alpha", "% agreement", "other", title="Agreement")
    for name, figures in report["agreement"].items():
        alpha = figures.get("krippendorff_alpha_nominal", figures.get("krippendorff_alpha_ordinal"))
        other = {k: v for k, v in figures.items()
                 if k not in ("type", "items", "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal",
                              "percent_agreement")}
        agreement.add_row(escape(name), figures["type"], str(figures["items"]), _figure(alpha),
                          _figure(figures.get("percent_agreement")),
                          ", ".join(f"{k} {_figure(v)}" for k, v in other.items()))
    out.print(agreement)
    aggregates = report["aggregates"]
    out.print(f"Aggregates: {aggregates['count']:,}, mean confidence {_figure(aggregates['mean_confidence'])}, "
              f"{aggregates['below_threshold']:,} below {aggregates['threshold']}.")
    cards = Table(Column("annotator", no_wrap=True, min_width=36), "annotations", "gold", "gold accuracy",
                  "consensus", "items/h", "median s", "rejected", title="Scorecards")
    for card in report["scorecards"]:
        flag = " [red](below threshold)[/]" if card.get("below_gold_threshold") else ""
        cards.add_row(card["user_id"], str(card["annotations"]), str(card["gold_items"]),
                      _figure(card["gold_accuracy"]) + flag, _figure(card["consensus_agreement"]),
                      _figure(card["items_per_hour"]), _figure(card["median_seconds"]), _figure(card["rejection_rate"]))
    out.print(cards)
    if any(v["vendor"] is not None for v in vendors):
        pooled = Table(Column("vendor", no_wrap=True), "annotators", "annotations", "gold accuracy", "consensus",
                       "items/h", "median s", "rejected", title="Vendors")
        for card in vendors:
            pooled.add_row(escape(card["vendor"] or "(your own people)"), str(card["annotators"]),
                           str(card["annotations"]), _figure(card["gold_accuracy"]),
                           _figure(card["consensus_agreement"]), _figure(card["items_per_hour"]),
                           _figure(card["median_seconds"]), _figure(card["rejection_rate"]))
        out.print(pooled)


@quality_app.command("aggregates")
def quality_aggregates(
    project_id: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file to write.")],
    below: Annotated[float | None, typer.Option("--below", help="Only aggregates less confident than this.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Write the aggregated answers (item, question, value, confidence, method) of a project as JSONL."""
    written = 0
    with api(url, token) as client, output.open("w") as handle:
        for row in client.aggregates(project_id, below=below):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
    console.print(f"{written:,} aggregates written to {escape(str(output))}.")
