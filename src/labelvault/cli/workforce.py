"""Commands for teams, vendors, skills and routing: `labelvault vendor|team ...`, `labelvault project routing`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Column, Table

from labelvault.cli.common import DEFAULT_URL, TokenOption, UrlOption, api, console, id_column, out, print_json
from labelvault.cli.remote import project_app, read_json_file

vendor_app = typer.Typer(help="Vendors: outside companies whose people work on your projects.", no_args_is_help=True)
team_app = typer.Typer(help="Teams of your own people.", no_args_is_help=True)


def _workforce_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(id_column("id"), Column("name", overflow="fold", min_width=8), Column("since", no_wrap=True),
                  Column("revoked", no_wrap=True), Column("review", justify="right", no_wrap=True))
    for row in rows:
        review = f"{row['review_percent']} %" if row.get("kind") == "vendor" else ""
        table.add_row(row["id"], escape(row["name"]), row["created_at"][:10], (row.get("revoked_at") or "")[:10],
                      review)
    return table


@vendor_app.command("list")
def vendor_list(url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """List your vendors (a vendor's manager sees only their own)."""
    with api(url, token) as client:
        out.print(_workforce_table(client.vendors()))


@vendor_app.command("create")
def vendor_create(name: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Add a vendor; then invite its first manager with `labelvault member invite EMAIL --role manager
    --vendor VENDOR_ID` and route items to it with `labelvault project routing`."""
    with api(url, token) as client:
        made = client.create_vendor(name)
    console.print(f"Vendor {escape(made['name'])} added.")
    out.print(made["id"])


@vendor_app.command("review")
def vendor_review(
    vendor_id: str,
    percent: Annotated[int, typer.Option("--percent", min=0, max=100,
                                         help="Share of the vendor's submitted work (0-100) its own reviewers "
                                              "check before yours; 0 turns its internal review off.")],
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Set a vendor's internal review: its reviewers check its people's work before it reaches your review."""
    with api(url, token) as client:
        vendor = client.set_vendor_review(vendor_id, percent)
    console.print(f"Vendor {escape(vendor['name'])}: its own reviewers check {vendor['review_percent']} % of its "
                  "people's work before your review.")


@vendor_app.command("revoke")
def vendor_revoke(
    vendor_id: str,
    report: Annotated[Path | None, typer.Option(help="Where to write the vendor's exposure report (CSV); "
                                                     "default vendor-<id>-exposure.csv.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Drop a vendor now: its people's tokens and sessions stop, their leases go back to the queues, their
    drafts stay with you, its pending items return to your own people; writes its exposure report."""
    target = report or Path(f"vendor-{vendor_id}-exposure.csv")
    with api(url, token) as client:
        done = client.revoke_vendor(vendor_id)
        target.write_bytes(client.vendor_exposure_csv(vendor_id))
    console.print(f"Vendor {escape(done['vendor']['name'])} revoked: {done['people']} people lost access, "
                  f"{done['leases_released']} leases released, {done['items_returned']} pending items returned "
                  f"to your own people; its people saw {done['exposure_items']} items.")
    console.print(f"Exposure report written to {escape(str(target))}.")


@team_app.command("list")
def team_list(url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """List your teams."""
    with api(url, token) as client:
        out.print(_workforce_table(client.teams()))


@team_app.command("create")
def team_create(name: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Add a team of your own people."""
    with api(url, token) as client:
        made = client.create_team(name)
    console.print(f"Team {escape(made['name'])} added.")
    out.print(made["id"])


@team_app.command("add")
def team_add(team_id: str, user_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Put a member in a team."""
    with api(url, token) as client:
        client.add_to_team(team_id, user_id)
    console.print(f"{user_id} is in team {team_id}.")


@team_app.command("remove")
def team_remove(team_id: str, user_id: str, url: UrlOption = DEFAULT_URL, token: TokenOption = "") -> None:
    """Take a member out of a team."""
    with api(url, token) as client:
        client.remove_from_team(team_id, user_id)
    console.print(f"{user_id} left team {team_id}.")


@project_app.command("routing")
def project_routing(
    project_id: str,
    rules: Annotated[Path | None, typer.Option("--rules", help="JSON file with a list of rules to set: "
                                               '[{"workforce_id", "match": {"metadata", "tags", "split"}, '
                                               '"skill"}]. Without it, the current rules are shown.')] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Show or replace the project's routing rules (first match wins; the rest stays with your people)."""
    with api(url, token) as client:
        if rules is None:
            print_json(client.routing(project_id))
            return
        parsed = read_json_file(rules, "rules")
        if not isinstance(parsed, list):
            console.print("[red]Error:[/] the rules file must hold a JSON list of rules.")
            raise typer.Exit(2)
        done = client.set_routing(project_id, parsed)
    console.print(f"{len(done['rules'])} rules set; {done['items_moved']} pending items changed pool.")


@project_app.command("reroute")
def project_reroute(
    project_id: str,
    source: Annotated[str, typer.Option("--from", help="The team or vendor the items leave.")],
    target: Annotated[str | None, typer.Option("--to", help="The team or vendor they go to; "
                                               "default: your own people.")] = None,
    url: UrlOption = DEFAULT_URL, token: TokenOption = "",
) -> None:
    """Move the project's pending items (open, held by nobody) from one team or vendor to another."""
    with api(url, token) as client:
        moved = client.reroute(project_id, source, target)
    console.print(f"{moved['items_moved']} pending items moved.")
