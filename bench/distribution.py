"""Work distribution: C annotators asking for the next item and submitting it, against a running server.

    python bench/distribution.py --database postgresql --concurrency 64               # throughput
    python bench/distribution.py --database postgresql --concurrency 64 --rate 300    # latency at a load

Each simulated annotator repeats one cycle: `POST /projects/{id}/next`, then `POST /items/{id}/annotations`.
Without --rate the loop is closed (each annotator starts its next cycle when the last one answered).
With --rate R cycles are scheduled at fixed intended start times, R per second in all, handed to the
annotators in turn; a cycle's `next` latency counts from its intended start, so a server that falls behind
shows in the latency instead of silently lowering the load. Afterwards the database is checked for items
with more submitted annotations than their overlap (or two by the same person). Last stdout line:
{"database", "items", "concurrency", "rate", "seconds", "annotations_per_s", "p50_next_ms", "p99_next_ms",
 "p99_submit_ms", "over_assigned", "errors", ...}.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from environment import Environment, emit, fresh_environment, log, parser
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.models import Role
from labelvault.annotations.models import Annotation, AnnotationStatus
from labelvault.db.engine import transaction
from labelvault.items import repository as items_repo
from labelvault.items.models import Item
from labelvault.kit.clock import utcnow
from labelvault.projects.models import Project
from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA, make_actor, start_server

ANSWERS = ({"sentiment": "positive"}, {"sentiment": "neutral"}, {"sentiment": "negative"})
REQUEST_TIMEOUT = 10.0
DRAIN_SECONDS = 15.0
SEED_BATCH = 10_000
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "annotation", "label", "review", "model",
         "data", "quality", "vendor", "schema", "river", "mountain", "city", "market", "signal", "noise", "answer"]


def sample_text(rng: random.Random, chars: int = 200) -> str:
    """Words joined to about `chars` characters, like a short review or message."""
    words: list[str] = []
    length = -1
    while length < chars:
        words.append(rng.choice(WORDS))
        length += len(words[-1]) + 1
    return " ".join(words)


# -- seeding -------------------------------------------------------------------------------------------------

def write_items(path: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("wb") as out:
        for start in range(0, count, SEED_BATCH):
            lines = [orjson.dumps({"external_id": f"item-{n:08d}", "data": {"text": sample_text(rng)}})
                     for n in range(start, min(count, start + SEED_BATCH))]
            out.write(b"\n".join(lines) + b"\n")


def import_items(client: Client, project_id: str, directory: Path, count: int) -> None:
    """The way users load items: a JSONL file uploaded and imported as a job."""
    file = directory / "items.jsonl"
    write_items(file, count)
    job = client.import_file(project_id, file)
    if job["state"] != "succeeded" or job["stats"].get("imported") != count:
        raise SystemExit(f"import job {job['state']}: {job.get('error')} {job.get('stats')}")
    file.unlink()


def bulk_insert_items(factory: sessionmaker[Session], organization_id: str, project_id: str, count: int) -> None:
    """Items written straight through SQLAlchemy Core (the importer's own insert), batch by batch."""
    rng = random.Random(7)
    for start in range(0, count, SEED_BATCH):
        now = utcnow()
        rows = [items_repo.new_item_row(organization_id, project_id, f"item-{n:08d}", {"text": sample_text(rng)}, now)
                for n in range(start, min(count, start + SEED_BATCH))]
        with transaction(factory) as session:
            items_repo.insert_items(session, rows)
        if (start // SEED_BATCH) % 20 == 19:
            log(f"  {start + len(rows):,} items inserted")
    with transaction(factory) as session:
        items_repo.refresh_statistics(session)  # as an import job of this size does at its end


# -- a small HTTP/1.1 keep-alive client ----------------------------------------------------------------------

class HttpConnection:
    """One keep-alive connection, one request at a time: all an annotator needs, at a fraction of the CPU
    that a general client spends per request (the load generator shares the machine with the server)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        content_type = "Content-Type: application/json\r\n" if body else ""
        self.writer.write(f"POST {path} HTTP/1.1\r\n{self.head}{content_type}Content-Length: {len(body)}\r\n\r\n"
                          .encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, chunked, close = 0, False, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        content = await self._chunked() if chunked else await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, content

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append((await self.reader.readexactly(size + 2))[:-2])
        await self.reader.readuntil(b"\r\n")  # the empty line after the last chunk (no trailers)
        return b"".join(parts)


# -- the annotators ------------------------------------------------------------------------------------------

@dataclass
class Tally:
    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    annotations: int = 0
    annotated_at: list[float] = field(default_factory=list)  # perf_counter() of each 201
    nothing_left: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def error(self, what: str) -> None:
        self.errors += 1
        self.statuses[what] = self.statuses.get(what, 0) + 1


class Annotator:
    def __init__(self, connection: HttpConnection, project_id: str, tally: Tally, rng: random.Random) -> None:
        self.connection, self.tally, self.rng = connection, tally, rng
        self.next_path = f"/api/v1/projects/{project_id}/next"

    async def _post(self, path: str, body: bytes, what: str) -> tuple[int, bytes] | None:
        try:
            return await asyncio.wait_for(self.connection.post(path, body), REQUEST_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            # A late answer would arrive on this connection and be read as the next one's: start afresh.
            self.connection.close()
            self.tally.error(f"{what}:{type(exc).__name__}")
            return None

    async def cycle(self, intended_start: float) -> bool:
        """Next item and its submission; False when nothing is left for this annotator."""
        answer = await self._post(self.next_path, b"", "next")
        claimed = time.perf_counter()
        if answer is None:
            return True
        status, content = answer
        self.tally.next_ms.append((claimed - intended_start) * 1000)
        if status == 204:
            self.tally.nothing_left += 1
            return False
        if not 200 <= status < 300:
            self.tally.error(f"next:{status}")
            return True
        item_id = orjson.loads(content)["item"]["id"]
        body = orjson.dumps({"answers": self.rng.choice(ANSWERS), "time_spent_ms": self.rng.randint(2000, 20000)})
        answer = await self._post(f"/api/v1/items/{item_id}/annotations", body, "submit")
        if answer is None:
            return True
        self.tally.submit_ms.append((time.perf_counter() - claimed) * 1000)
        if answer[0] == 201:
            self.tally.annotations += 1
            self.tally.annotated_at.append(time.perf_counter())
        elif not 200 <= answer[0] < 300:
            self.tally.error(f"submit:{answer[0]}")
        return True


async def closed_loop(annotators: list[Annotator], seconds: float) -> float:
    """Each annotator starts its next cycle as soon as the last one answered."""
    start = time.perf_counter()
    deadline = start + seconds

    async def work(annotator: Annotator) -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            if not await annotator.cycle(began):
                return

    await asyncio.gather(*(work(a) for a in annotators))
    return time.perf_counter() - start


async def open_loop(annotators: list[Annotator], seconds: float, rate: float) -> float:
    """Cycles at intended start times `start + k / rate`, handed to the annotators in turn; an annotator
    still busy with its previous cycle starts the next one late, and the delay counts in its latency.
    Returns the start time: only annotations stored within `seconds` of it count as achieved."""
    start = time.perf_counter() + 0.05
    total = int(seconds * rate)
    people = len(annotators)

    async def work(index: int, annotator: Annotator) -> None:
        for k in range(index, total, people):
            intended = start + k / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not await annotator.cycle(intended):
                return

    tasks = [asyncio.ensure_future(work(i, a)) for i, a in enumerate(annotators)]
    _, late = await asyncio.wait(tasks, timeout=seconds + DRAIN_SECONDS)
    for task in late:
        task.cancel()
    if late:
        log(f"{len(late)} annotators had not finished their cycles {DRAIN_SECONDS:.0f} s after the end")
    return start


async def run_load(url: str, tokens: list[str], project_id: str, seconds: float,
                   rate: float | None) -> tuple[Tally, float]:
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    host, port = url.removeprefix("http://").split(":")
    tally = Tally()
    rng = random.Random(11)
    connections = [HttpConnection(host, int(port), token) for token in tokens]
    annotators = [Annotator(c, project_id, tally, random.Random(rng.random())) for c in connections]
    try:
        if rate is None:
            elapsed = await closed_loop(annotators, seconds)
        else:
            # Achieved: the annotations stored within the run; those of late cycles finished afterwards are not.
            start = await open_loop(annotators, seconds, rate)
            in_time = sum(1 for moment in tally.annotated_at if moment <= start + seconds)
            log(f"open loop: {int(seconds * rate):,} cycles offered, {in_time:,} annotations stored within "
                f"{seconds:g} s, {tally.annotations - in_time:,} later")
            tally.annotations, elapsed = in_time, seconds
    finally:
        for connection in connections:
            connection.close()
    return tally, elapsed


# -- CPU spent -----------------------------------------------------------------------------------------------

def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its live children (the server's worker processes)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for one in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{one}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def database_cpu() -> float:
    """CPU seconds used so far by this machine's PostgreSQL processes (0 when none are visible)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            if text[text.index("(") + 1:text.rindex(")")] == "postgres":
                fields = text.rpartition(")")[2].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
    return total


# -- checks afterwards ---------------------------------------------------------------------------------------

def over_assigned(factory: sessionmaker[Session], project_id: str) -> tuple[int, int, int]:
    """(items with more submitted annotations than their overlap or two by one person, items whose counter
    disagrees with their annotations, submitted annotations)."""
    with factory() as session:
        overlap = select(Project.default_overlap).where(Project.id == project_id).scalar_subquery()
        per_item = (
            select(Annotation.item_id, func.count().label("n"),
                   func.count(func.distinct(Annotation.author_id)).label("authors"))
            .where(Annotation.project_id == project_id, Annotation.status == AnnotationStatus.submitted)
            .group_by(Annotation.item_id).subquery()
        )
        over = session.scalar(
            select(func.count()).select_from(per_item).join(Item, Item.id == per_item.c.item_id)
            .where((per_item.c.n > func.coalesce(Item.overlap, overlap)) | (per_item.c.authors < per_item.c.n))
        ) or 0
        mismatched = session.scalar(
            select(func.count()).select_from(Item).outerjoin(per_item, per_item.c.item_id == Item.id)
            .where(Item.project_id == project_id, Item.annotation_count != func.coalesce(per_item.c.n, 0))
        ) or 0
        submitted = session.scalar(select(func.coalesce(func.sum(per_item.c.n), 0))) or 0
    return int(over), int(mismatched), int(submitted)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)


def prepare(env: Environment, url: str, items: int, concurrency: int, seed: str) -> tuple[str, list[str]]:
    with Client(url, env.owner.token, timeout=600) as client:
        project = client.create_project("distribution benchmark", TEXT_SCHEMA)
        started = time.perf_counter()
        if seed == "bulk":
            log(f"seeding {items:,} items by bulk insert through SQLAlchemy Core (not the import)")
            bulk_insert_items(env.factory, env.owner.organization_id, project["id"], items)
        else:
            log(f"importing {items:,} items with the SDK (Client.import_file)")
            import_items(client, project["id"], env.data_dir, items)
        log(f"  items ready in {time.perf_counter() - started:.1f} s")
    tokens = [make_actor(env.factory, Role.annotator, organization_id=env.owner.organization_id).token
              for _ in range(concurrency)]
    return project["id"], tokens


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, default=8, help="Simulated annotators.")
    p.add_argument("--rate", type=float, default=None,
                   help="Offered next+submit cycles per second in all (open loop); without it, a closed loop.")
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--workers", type=int, default=None,
                   help="Server processes (default: 2, one per core).")
    p.add_argument("--seed", choices=["import", "bulk"], default=None,
                   help="How items are loaded: the SDK import (default up to 100,000 items) or a bulk insert "
                        "through SQLAlchemy Core (default above).")
    args = p.parse_args()
    workers = args.workers or 2
    seed = args.seed or ("import" if args.items <= 100_000 else "bulk")

    with fresh_environment(args.database, args.pg_admin_url) as env:
        server = start_server(env.data_dir, env.database_url, workers=workers, timeout=60)
        log(f"server pid {server.process.pid} ({workers} worker process(es)) at {server.url}")
        try:
            project_id, tokens = prepare(env, server.url, args.items, args.concurrency, seed)
            mode = f"open loop at {args.rate:g} cycles/s" if args.rate else "closed loop"
            log(f"{args.concurrency} annotators, {mode}, {args.seconds:g} s")
            server_cpu, own_cpu, db_cpu = process_tree_cpu(server.process.pid), time.process_time(), database_cpu()
            tally, elapsed = asyncio.run(run_load(server.url, tokens, project_id, args.seconds, args.rate))
            server_cpu = process_tree_cpu(server.process.pid) - server_cpu
            own_cpu = time.process_time() - own_cpu
            db_cpu = database_cpu() - db_cpu
        finally:
            server.stop()
        over, mismatched, submitted = over_assigned(env.factory, project_id)

    # Closed loop: the last cycles end a little after the deadline; open loop: annotations stored within the run.
    rate = tally.annotations / elapsed
    log(f"{tally.annotations:,} annotations in {elapsed:.1f} s; {submitted:,} submitted in the database; "
        f"errors {tally.errors} {tally.statuses or ''}; nothing left {tally.nothing_left}; "
        f"items whose counter disagrees with their annotations: {mismatched}")
    per = max(len(tally.annotated_at), 1)  # every annotation stored, in time or not: the CPU was spent on all
    database = f", PostgreSQL (all its processes on this machine) {1000 * db_cpu / per:.2f} ms" \
        if args.database == "postgresql" else ""
    log(f"CPU per annotation (next + submit): server {1000 * server_cpu / per:.2f} ms, "
        f"load generator {1000 * own_cpu / per:.2f} ms{database}; machine load {os.getloadavg()[0]:.1f}")
    result: dict[str, Any] = {
        "database": args.database, "items": args.items, "concurrency": args.concurrency, "rate": args.rate,
        "seconds": args.seconds, "annotations_per_s": round(rate, 1),
        "p50_next_ms": percentile(tally.next_ms, 50), "p99_next_ms": percentile(tally.next_ms, 99),
        "p50_submit_ms": percentile(tally.submit_ms, 50), "p99_submit_ms": percentile(tally.submit_ms, 99),
        "over_assigned": over, "errors": tally.errors, "workers": workers, "seed": seed,
        "server_cpu_ms_per_annotation": round(1000 * server_cpu / per, 2),
        "client_cpu_ms_per_annotation": round(1000 * own_cpu / per, 2),
    }
    if args.rate:
        result["achieved_share"] = round(rate / args.rate, 3)
    emit(result)


if __name__ == "__main__":
    main()
