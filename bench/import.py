"""Import throughput: one JSONL file of N text items uploaded to a running server and imported as a job.

    python bench/import.py --items 100000 --database sqlite

Timed from the start of the upload until the import job has succeeded; the server's resident memory
is sampled over the same stretch. Last stdout line:
{"database", "items", "seconds", "items_per_s", "server_rss_growth_mb"}.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import orjson
from environment import RssSampler, emit, fresh_environment, log, parser, running_server, sample_text

from labelvault.sdk import Client
from labelvault.testing import TEXT_SCHEMA


def write_items(path: Path, count: int, seed: int = 7) -> int:
    """N lines of `{"external_id", "data": {"text"}}`, each text about 200 characters."""
    rng = random.Random(seed)
    with path.open("wb") as out:
        for start in range(0, count, 10_000):
            lines = []
            for n in range(start, min(count, start + 10_000)):
                line = {"external_id": f"item-{n:08d}", "data": {"text": sample_text(rng)}}
                lines.append(orjson.dumps(line))
            out.write(b"\n".join(lines) + b"\n")
    return path.stat().st_size


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=100_000)
    args = p.parse_args()

    with fresh_environment(args.database, args.pg_admin_url) as env, running_server(env) as server:
        file = env.data_dir / "items.jsonl"
        size = write_items(file, args.items)
        log(f"wrote {args.items:,} items ({size / 1e6:.1f} MB) to {file}")
        with Client(server.url, env.owner.token, timeout=300) as client:
            project = client.create_project("import benchmark", TEXT_SCHEMA)
            with RssSampler(server.process.pid) as rss:
                start = time.perf_counter()
                job = client.start_import(project["id"], file)
                job = client.wait(job["id"], poll=0.05)
                seconds = time.perf_counter() - start
            if job["state"] != "succeeded":
                raise SystemExit(f"import job {job['state']}: {job.get('error')}")
            stats = job["stats"]
            log(f"job stats: {stats}")
            if stats.get("imported") != args.items:
                raise SystemExit(f"expected {args.items} imported items, the job reports {stats}")
            log(f"server RSS before {rss.before_kb / 1024:.1f} MB, peak {rss.peak_kb / 1024:.1f} MB, "
                f"after {rss.after_kb / 1024:.1f} MB")

    emit({"database": args.database, "items": args.items, "seconds": round(seconds, 3),
          "items_per_s": round(args.items / seconds, 1), "server_rss_growth_mb": round(rss.growth_mb, 1)})


if __name__ == "__main__":
    main()
