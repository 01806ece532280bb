"""Manager pages at scale: each page and the first API call its script makes, on a project of N items.

    python bench/manager_pages.py --items 1000000 --database sqlite

Setup (not timed): N text items bulk-inserted through SQLAlchemy Core (then the planner statistics
refreshed, as a large import does), 1,000 members in the organization,
a running server, and the owner signed in through the sign-in form. Timed: `--repeat` GETs of every manager
page (the server's answer, time to the whole body) and of the API each page's script calls first.
Last stdout line: {"database", "items", "members", "pages": {name: {"p50_ms", "p95_ms"}}}.
"""

from __future__ import annotations

import statistics
import time

import httpx
from environment import emit, fresh_environment, log, parser, running_server
from sqlalchemy import Table, insert

from labelvault.accounts.models import Membership, Role, User
from labelvault.db.engine import transaction
from labelvault.items.models import Item
from labelvault.items.repository import refresh_statistics
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA

BATCH = 10_000


def add_items(factory, organization_id: str, project_id: str, count: int) -> None:  # type: ignore[no-untyped-def]
    table: Table = Item.__table__  # type: ignore[assignment]
    now = utcnow()
    for start in range(0, count, BATCH):
        rows = [{"id": new_id(), "organization_id": organization_id, "project_id": project_id,
                 "external_id": f"item-{n:08d}", "data": {"text": f"Sentence number {n} about the city."},
                 "metadata": {"n": n}, "overlap": None, "priority": 0, "state": "new", "annotation_count": 0,
                 "import_job_id": None, "created_at": now, "updated_at": now}
                for n in range(start, min(count, start + BATCH))]
        with transaction(factory) as session:
            session.execute(insert(table), rows)
        if (start + BATCH) % 100_000 == 0:
            log(f"  {start + BATCH:,} items inserted")
    with transaction(factory) as session:
        refresh_statistics(session)  # as an import of this size does at its end


def add_members(factory, organization_id: str, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` annotators who never sign in (no password hashing: the page only lists them)."""
    now = utcnow()
    users = [{"id": new_id(), "email": f"annotator-{n:05d}@example.test", "name": f"Annotator {n}",
              "password_hash": "!", "is_admin": False, "is_active": True, "created_at": now}
             for n in range(count)]
    with transaction(factory) as session:
        session.execute(insert(User), users)
        session.execute(insert(Membership), [{"id": new_id(), "organization_id": organization_id,
                                              "user_id": u["id"], "role": Role.annotator, "created_at": now}
                                             for u in users])


def timed(client: httpx.Client, path: str, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:200]}")
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(len(times) * 0.95) - 1], 1)}


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=1_000_000)
    p.add_argument("--members", type=int, default=1_000)
    p.add_argument("--repeat", type=int, default=40)
    args = p.parse_args()

    with fresh_environment(args.database, args.pg_admin_url) as env, running_server(env) as server, \
            Client(server.url, env.owner.token, timeout=300) as sdk:
        project = sdk.create_project("manager pages benchmark", TEXT_SCHEMA)
        org = env.owner.organization_id
        started = time.perf_counter()
        add_items(env.factory, org, project["id"], args.items)
        add_members(env.factory, org, args.members)
        log(f"setup: {args.items:,} items, {args.members:,} members in {time.perf_counter() - started:.1f} s")

        pid = project["id"]
        paths = {
            "overview": f"/projects/{pid}/overview", "items": f"/projects/{pid}/items",
            "items_api_first_page": f"/api/v1/projects/{pid}/items?limit=50",
            "import": f"/projects/{pid}/import", "export": f"/projects/{pid}/export",
            "export_formats_api": "/api/v1/export-formats", "schema": f"/projects/{pid}/schema",
            "schema_sample_item_api": f"/api/v1/projects/{pid}/items?limit=1",
            "members": "/members", "members_api": "/api/v1/members",
        }
        with httpx.Client(base_url=server.url, timeout=60) as browser:
            signed = browser.post("/sign-in", data={"email": env.owner.email, "password": env.owner.password,
                                                    "next": "/"})
            if signed.status_code != 303:
                raise SystemExit(f"sign-in failed: {signed.status_code}")
            pages = {}
            for name, path in paths.items():
                pages[name] = timed(browser, path, args.repeat)
                log(f"{name}: {pages[name]}")

    emit({"database": args.database, "items": args.items, "members": args.members + 1, "pages": pages})


if __name__ == "__main__":
    main()
