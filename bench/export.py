"""Export speed: full-fidelity JSONL of a project with N annotations, streamed from a running server.

    python bench/export.py --annotations 1000000 --database sqlite

Setup (not timed): ceil(N/3) text items with three annotators' answers each (a single choice and spans),
bulk-inserted through SQLAlchemy Core. Timed: `Client.export_to` from the request until the file is
complete. Last stdout line: {"database", "annotations", "seconds", "annotations_per_s"}.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from environment import emit, fresh_environment, log, parser, running_server, sample_text
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.models import Role
from labelvault.annotations.models import Annotation
from labelvault.crypto.content import seal_rows
from labelvault.db.engine import transaction
from labelvault.items.models import Item
from labelvault.kit.ids import new_id
from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA, make_actor

PER_ITEM = 3
BATCH = 10_000
SENTIMENTS = ["positive", "neutral", "negative"]
LABELS = ["PER", "ORG", "LOC"]


def _answers(rng: random.Random, text: str) -> dict[str, Any]:
    spans = []
    for _ in range(rng.randint(0, 3)):
        start = rng.randrange(0, len(text) - 10)
        spans.append({"start": start, "end": start + rng.randint(1, 10), "label": rng.choice(LABELS)})
    spans.sort(key=lambda s: s["start"])
    return {"sentiment": rng.choice(SENTIMENTS), "entities": spans}


def _rows(organization_id: str, project_id: str, authors: list[str], annotations: int,
          seed: int = 11) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Batches of (items, their annotations); the last item gets what remains of N."""
    rng = random.Random(seed)
    base = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    n_items = math.ceil(annotations / PER_ITEM)
    left = annotations
    for start in range(0, n_items, BATCH):
        items: list[dict[str, Any]] = []
        anns: list[dict[str, Any]] = []
        for n in range(start, min(n_items, start + BATCH)):
            item_id = new_id()
            text = sample_text(rng)
            created = base + dt.timedelta(seconds=n)
            count = min(PER_ITEM, left)
            left -= count
            items.append({
                "id": item_id, "organization_id": organization_id, "project_id": project_id,
                "external_id": f"item-{n:08d}", "data": {"text": text}, "metadata": {"source": "bench", "n": n},
                "overlap": None, "priority": 0, "state": "completed" if count >= PER_ITEM else "in_progress",
                "annotation_count": count, "import_job_id": None, "created_at": created, "updated_at": created,
            })
            for author in authors[:count]:
                made = created + dt.timedelta(minutes=rng.randint(1, 10_000))
                anns.append({
                    "id": new_id(), "organization_id": organization_id, "project_id": project_id,
                    "item_id": item_id, "author_id": author, "schema_version": 1, "answers": _answers(rng, text),
                    "status": "submitted", "time_spent_ms": rng.randint(2_000, 120_000), "revision_count": 0,
                    "created_at": made, "updated_at": made, "submitted_at": made,
                })
        yield items, anns


def insert_sealed(factory: sessionmaker[Session], items: list[dict[str, Any]],
                  annotations: list[dict[str, Any]]) -> None:
    """Items and annotations written in one transaction, their content sealed as the server stores it."""
    with transaction(factory) as session:
        session.execute(insert(cast(Table, Item.__table__)), seal_rows(session, Item, items))
        session.execute(insert(cast(Table, Annotation.__table__)), seal_rows(session, Annotation, annotations))


def populate(factory: sessionmaker[Session], organization_id: str, project_id: str, authors: list[str],
             annotations: int) -> int:
    n_items = 0
    for items, anns in _rows(organization_id, project_id, authors, annotations):
        insert_sealed(factory, items, anns)
        n_items += len(items)
        if n_items % 50_000 < BATCH:
            log(f"  {n_items:,} items inserted")
    return n_items


def count_export(path: Path, needle: bytes = b'"author_id"') -> tuple[int, int]:
    """(lines, occurrences of `needle`), read in chunks."""
    lines = found = 0
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            lines += chunk.count(b"\n")
            window = tail + chunk
            found += window.count(needle)
            # Keep a needle's length minus one so a match across chunks is counted once, in the next window.
            tail = window[-(len(needle) - 1):]
    return lines, found


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--annotations", type=int, default=1_000_000)
    args = p.parse_args()

    with fresh_environment(args.database, args.pg_admin_url) as env, running_server(env) as server, \
            Client(server.url, env.owner.token, timeout=300) as client:
        project = client.create_project("export benchmark", TEXT_SCHEMA, default_overlap=PER_ITEM)
        org = env.owner.organization_id
        authors = [make_actor(env.factory, Role.annotator, organization_id=org).user_id for _ in range(PER_ITEM)]
        log(f"inserting {args.annotations:,} annotations")
        started = time.perf_counter()
        n_items = populate(env.factory, org, project["id"], authors, args.annotations)
        log(f"setup: {n_items:,} items, {args.annotations:,} annotations in {time.perf_counter() - started:.1f} s")

        destination = env.data_dir / "export.jsonl"
        start = time.perf_counter()
        size = client.export_to(project["id"], destination)
        seconds = time.perf_counter() - start
        lines, annotations = count_export(destination)
        log(f"export: {size / 1e6:.1f} MB, {lines:,} lines, {annotations:,} annotations in {seconds:.2f} s")
        if lines != n_items or annotations != args.annotations:
            raise SystemExit(f"expected {n_items} lines and {args.annotations} annotations, "
                             f"got {lines} and {annotations}")

    emit({"database": args.database, "annotations": args.annotations, "seconds": round(seconds, 3),
          "annotations_per_s": round(args.annotations / seconds, 1)})


if __name__ == "__main__":
    main()
