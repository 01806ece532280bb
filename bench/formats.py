"""Portability speed: JSONL, HF Parquet, the exit bundle and its restore of N annotations, and COCO of 100k images.

    python bench/formats.py --annotations 1000000 --database sqlite

Setup (not timed): the export benchmark's project (ceil(N/3) text items, three annotators' answers each) and a
boxes project of --coco-images images (width and height in metadata) with one annotation of two boxes each,
bulk-inserted through SQLAlchemy Core, against a running server. Timed, each from the request until the file
is complete: `Client.export_to` (native JSONL), `Client.export_file(.., "hf_parquet")` and
`Client.export_file(.., "coco")` (jobs, then the download), `Client.bundle_to`, and `restore_file` of that
bundle into a fresh database of the same kind. Each step's peak resident memory growth is sampled (the
server's for the exports and the bundle, this process's for the restore): constant memory shows as a bound
that does not grow with N. Last stdout line: {"database", "annotations", "jsonl_seconds", "parquet_seconds",
"coco_seconds_100k_images", "bundle_seconds", "restore_seconds", "coco_images", "rss_growth_mb": {step: MB},
"load_average": [1, 5, 15 minutes] at the start of the timed steps}.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable
from typing import Any

from environment import RssSampler, emit, fresh_environment, log, parser, running_server
from export import PER_ITEM, insert_sealed, populate
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.models import Role
from labelvault.db.engine import build_engine
from labelvault.db.migrate import upgrade
from labelvault.exports.restore import restore_file
from labelvault.kit.ids import new_id
from labelvault.sdk import Client
from labelvault.testing import BOXES_SCHEMA, TEXT_SCHEMA, another_instance, fresh_database, make_actor

BATCH = 10_000


RSS_GROWTH_MB: dict[str, float] = {}


def timed(what: str, work: Callable[[], Any], pid: int) -> float:
    with RssSampler(pid) as memory:
        start = time.perf_counter()
        work()
        seconds = time.perf_counter() - start
    RSS_GROWTH_MB[what] = round(memory.growth_mb, 1)
    log(f"{what}: {seconds:.2f} s, peak RSS growth {memory.growth_mb:.1f} MB (pid {pid})")
    return seconds


def populate_images(factory: sessionmaker[Session], organization_id: str, project_id: str, author: str,
                    images: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    for start in range(0, images, BATCH):
        items, anns = [], []
        for n in range(start, min(images, start + BATCH)):
            item_id = new_id()
            items.append({"id": item_id, "organization_id": organization_id, "project_id": project_id,
                          "external_id": f"img-{n:07d}", "data": {"image": f"images/{n:07d}.jpg"},
                          "metadata": {"width": 640, "height": 480}, "overlap": None, "priority": 0,
                          "state": "completed", "annotation_count": 1, "import_job_id": None, "created_at": now,
                          "updated_at": now})
            boxes = [{"x": round(rng.uniform(0, 0.5), 4), "y": round(rng.uniform(0, 0.5), 4),
                      "width": round(rng.uniform(0.05, 0.5), 4), "height": round(rng.uniform(0.05, 0.5), 4),
                      "label": rng.choice(["cat", "dog"])} for _ in range(2)]
            anns.append({"id": new_id(), "organization_id": organization_id, "project_id": project_id,
                         "item_id": item_id, "author_id": author, "schema_version": 1, "answers": {"objects": boxes},
                         "status": "submitted", "time_spent_ms": 5000, "revision_count": 0, "created_at": now,
                         "updated_at": now, "submitted_at": now})
        insert_sealed(factory, items, anns)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--annotations", type=int, default=1_000_000)
    p.add_argument("--coco-images", type=int, default=100_000)
    args = p.parse_args()

    with fresh_environment(args.database, args.pg_admin_url) as env, running_server(env) as server, \
            Client(server.url, env.owner.token, timeout=600) as client:
        org = env.owner.organization_id
        project = client.create_project("formats benchmark", TEXT_SCHEMA, default_overlap=PER_ITEM)
        authors = [make_actor(env.factory, Role.annotator, organization_id=org).user_id for _ in range(PER_ITEM)]
        log(f"inserting {args.annotations:,} annotations")
        populate(env.factory, org, project["id"], authors, args.annotations)
        boxes = client.create_project("coco benchmark", BOXES_SCHEMA)
        log(f"inserting {args.coco_images:,} images with boxes")
        populate_images(env.factory, org, boxes["id"], authors[0], args.coco_images)

        out = env.data_dir
        server_pid = server.process.pid
        load = [round(n, 2) for n in os.getloadavg()]
        log(f"load average {load}")
        jsonl = timed("jsonl", lambda: client.export_to(project["id"], out / "export.jsonl"), server_pid)
        parquet = timed("hf_parquet", lambda: client.export_file(project["id"], "hf_parquet", out / "export.parquet",
                                                                 poll=0.05), server_pid)
        coco = timed("coco", lambda: client.export_file(boxes["id"], "coco", out / "coco.json", poll=0.05),
                     server_pid)
        bundle = timed("bundle", lambda: client.bundle_to(project["id"], out / "bundle.tar.zst", poll=0.05),
                       server_pid)
        log(f"bundle: {(out / 'bundle.tar.zst').stat().st_size / 1e6:.1f} MB")

        (out / "restore").mkdir()
        with fresh_database(args.database, out / "restore", args.pg_admin_url) as url:
            upgrade(url)
            engine = build_engine(url)
            try:
                # Another instance: its own key-encryption keys (content is sealed again with them).
                factory, media = another_instance(engine, out / "restore")
                restore = timed("restore", lambda: restore_file(factory, media, out / "bundle.tar.zst"), os.getpid())
            finally:
                engine.dispose()

    emit({"database": args.database, "annotations": args.annotations, "jsonl_seconds": round(jsonl, 3),
          "parquet_seconds": round(parquet, 3), "coco_seconds_100k_images": round(coco, 3),
          "bundle_seconds": round(bundle, 3), "restore_seconds": round(restore, 3), "coco_images": args.coco_images,
          "rss_growth_mb": RSS_GROWTH_MB, "load_average": load})


if __name__ == "__main__":
    main()
