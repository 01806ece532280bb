"""`labelvault demo`: a demo organization, admin and one project per question type, then the server."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from labelvault import demo
from labelvault.accounts import repository as accounts_repo
from labelvault.accounts import service as accounts
from labelvault.app import build_context
from labelvault.cli.common import console
from labelvault.cli.local import serve
from labelvault.config import Settings
from labelvault.crypto.media import media_within
from labelvault.db.engine import transaction
from labelvault.db.migrate import upgrade
from labelvault.items import service as items
from labelvault.kit.ids import new_id
from labelvault.projects import service as projects

DEMO_EMAIL = "admin@demo.example"


def run_demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    items_per_project: Annotated[int, typer.Option(help="Items per demo project.")] = 50,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up only; do not start the server.")] = False,
) -> None:
    """Set up the demo (once) on the configured database and start the server."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    ctx = build_context(settings)
    with transaction(ctx.factory) as session:
        exists = accounts_repo.user_by_email(session, DEMO_EMAIL) is not None
    if exists:
        console.print(f"Demo data exists. Sign in as [bold]{DEMO_EMAIL}[/] with the password printed on the "
                      "first run (or create another admin with `labelvault admin create`).")
    else:
        with transaction(ctx.factory) as session:
            created = accounts.create_admin(session, DEMO_EMAIL, "Demo Organization")
            principal = accounts.principal_for(session, created.user, created.organization.id)
            token = accounts.create_token(session, principal, "demo")
            for spec in demo.projects(items_per_project):
                project = projects.create_project(session, principal, name=spec["name"], schema=spec["schema"],
                                                  guidelines=spec["guidelines"])
                media = media_within(ctx.media, session)  # the project's key is made in this transaction
                for path, content in demo.demo_images().items():
                    key = f"{project.organization_id}/{project.id}/{path}"
                    with media.open_write(key) as handle:
                        handle.write(content)
                    media.commit(key)
                job_id = new_id()
                key = f"imports/{job_id}"
                body = b"".join(orjson.dumps(item) + b"\n" for item in spec["items"])
                with ctx.uploads.open_write(key) as handle:
                    handle.write(body)
                ctx.uploads.commit(key)
                items.start_import(session, principal, project, job_id=job_id, blob_key=key, size=len(body),
                                   fmt="jsonl", on_conflict="skip", all_or_nothing=False, filename="demo.jsonl")
        ctx.runner.run_until_idle()
        console.rule("labelvault demo")
        console.print(f"Organization: Demo Organization ({created.organization.id})")
        console.print(f"Admin: [bold]{DEMO_EMAIL}[/]  password (shown once): [bold]{created.password}[/]")
        console.print(f"API token (shown once): [bold]{token.secret}[/]")
        console.print("Try: labelvault project list --token <token>")
    ctx.engine.dispose()
    if not no_serve:
        serve(host=host, port=port, workers=1, migrate_first=False)
