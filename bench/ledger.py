"""Access ledger and encryption at rest: what they cost on the labeling hot path, and how long `ledger verify`
takes over 10M entries.

    python bench/ledger.py --database postgresql
    python bench/ledger.py --entries 1000000 --seconds 10       # a shorter run

1. Closed-loop next+submit throughput (C annotators, as in bench/distribution.py) against a real server whose
   app is built by the app factory with the real ledger and envelope encryption of content ("on"), then by the
   same factory with both swapped for no-ops (`NoLedger`, `NoCipher`; no setting can do either): "off". Each
   side's items are seeded sealed the way its server stores them. Runs alternate on, off, on, off on fresh
   projects; each figure is the better of its two runs.
2. `--entries` ledger entries appended through the ledger service in batches, chained by the sealer's
   function (the chain's table vacuumed at the sealer's cadence, `service.VacuumCadence`) and checkpointed,
   then `verify` timed over all of them.

Last stdout line: {"database", "throughput_ratio_on_off", "verify_seconds_10m", "entries", ...}; the verify
time is scaled to 10M entries when fewer were written (`verify_seconds` holds the measured time).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from distribution import prepare, run_load
from environment import Environment, emit, fresh_environment, log, parser
from fastapi import FastAPI

from labelvault.app import build_context, create_app
from labelvault.config import Settings
from labelvault.crypto.content import NoCipher, bind_cipher
from labelvault.db.engine import session_factory, transaction
from labelvault.kit.ids import new_id, new_ids
from labelvault.ledger import service
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.verify import verify
from labelvault.ledger.writer import NoLedger
from labelvault.testing import ServerProcess, free_port, server_env

BENCH = Path(__file__).resolve().parent
WRITE_BATCH = 20_000
SEAL_BATCH = 50_000
ITEM_POOL = 100_000


ON, OFF = "app_with_ledger_and_encryption", "app_without_ledger_and_encryption"


def app_with_ledger_and_encryption() -> FastAPI:
    return create_app(Settings())


def app_without_ledger_and_encryption() -> FastAPI:
    """The same app with the ledger and the content cipher swapped for no-ops through the factory (for this
    comparison only)."""
    settings = Settings()
    context = build_context(settings, content=NoCipher())
    context.ledger = NoLedger(context.factory)
    return create_app(settings, context=context)


def seeding(env: Environment, factory_name: str) -> Environment:
    """The environment whose sessions seal seeded items as the server `factory_name` reads them."""
    if factory_name == ON:
        return env
    return replace(env, factory=bind_cipher(session_factory(env.factory.kw["bind"]), NoCipher()))


def start(env: Environment, factory_name: str) -> ServerProcess:
    port = free_port()
    environ = server_env(env.data_dir, env.database_url, PYTHONPATH=str(BENCH))
    log_file = open(env.data_dir / f"server-{port}.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", f"ledger:{factory_name}",
                                "--port", str(port), "--log-level", "warning", "--no-access-log"],
                               env=environ, stdout=log_file, stderr=subprocess.STDOUT, cwd=BENCH)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return ServerProcess(url, process, environ)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server {factory_name} did not start; see {log_file.name}")


def throughput(env: Environment, factory_name: str, items: int, concurrency: int, seconds: float) -> float:
    server = start(env, factory_name)
    try:
        project_id, tokens = prepare(seeding(env, factory_name), server.url, items, concurrency, "bulk")
        tally, elapsed = asyncio.run(run_load(server.url, tokens, project_id, seconds, None))
    finally:
        server.stop()
    rate = tally.annotations / elapsed
    log(f"{factory_name}: {rate:.1f} annotations/s ({tally.errors} errors)")
    return rate


def write_entries(env: Environment, count: int) -> None:
    """`count` entries through the ledger service's batch path (`append_many`: COPY on PostgreSQL), reads of
    items of one project of ITEM_POOL items, as annotators read them again and again."""
    organization, user = env.owner.organization_id, env.owner.user_id
    items = [f'["{item}"]' for item in new_ids(min(count, ITEM_POOL))]
    started = time.perf_counter()
    now = service.now_us()
    for first in range(0, count, WRITE_BATCH):
        rows = [{"id": new_id(), "organization_id": organization, "recorded_us": now + n, "kind": "read",
                 "actor_user_id": user, "actor_email": env.owner.email, "token_id": None, "vendor_id": None,
                 "route": "GET /api/v1/items/{item_id}", "project_id": organization,
                 "item_ids": items[n % len(items)], "fields": '["text"]', "detail": "{}"}
                for n in range(first, min(count, first + WRITE_BATCH))]
        with transaction(env.factory) as session:
            service.append_many(session, rows)
        if (first // WRITE_BATCH) % 50 == 49:
            log(f"  {first + len(rows):,} entries written")
    log(f"{count:,} entries written in {time.perf_counter() - started:.1f} s")


def seal_all(env: Environment) -> None:
    started = time.perf_counter()
    signer = load_or_create_signer(env.data_dir)
    sealed = 0
    # As the server's sealer does (`Sealer.run_once`): the chain's table vacuumed when a share of it was sealed
    # since the last vacuum.
    vacuums = service.VacuumCadence()
    while True:
        with transaction(env.factory) as session:
            done = service.seal(session, SEAL_BATCH)
            due = vacuums.sealed(session, done)
        sealed += done
        if due and vacuums.vacuum(env.factory.kw["bind"]):
            log(f"  vacuumed at {sealed:,} entries")
        if done < SEAL_BATCH:
            break
        if (sealed // SEAL_BATCH) % 20 == 0:
            log(f"  {sealed:,} entries chained")
    with transaction(env.factory) as session:
        service.checkpoint(session, signer, every=1, max_age_us=0)
    log(f"{sealed:,} entries chained and checkpointed in {time.perf_counter() - started:.1f} s")


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--items", type=int, default=30_000, help="Items per throughput run.")
    p.add_argument("--entries", type=int, default=10_000_000)
    args = p.parse_args()
    result: dict[str, Any] = {"database": args.database, "concurrency": args.concurrency,
                              "seconds": args.seconds, "entries": args.entries}
    with fresh_environment(args.database, args.pg_admin_url) as env:
        rates: dict[str, list[float]] = {ON: [], OFF: []}
        for name in list(rates) * 2:
            rates[name].append(throughput(env, name, args.items, args.concurrency, args.seconds))
        on, off = max(rates[ON]), max(rates[OFF])
        write_entries(env, args.entries)
        seal_all(env)
        started, cpu = time.perf_counter(), time.process_time()
        with transaction(env.factory, write=False) as session:
            report = verify(session, load_or_create_signer(env.data_dir).public_hex)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    log(f"verify: {report.entries:,} entries, {report.checkpoints} checkpoints, ok={report.ok} ({report.method} "
        f"pass) in {seconds:.1f} s, {cpu:.1f} s of this process's CPU; machine load {os.getloadavg()[0]:.1f}")
    result.update(annotations_per_s_on=round(on, 1), annotations_per_s_off=round(off, 1),
                  verify_seconds=round(seconds, 1), verify_ok=report.ok,
                  verify_method=report.method, verify_cpu_seconds=round(cpu, 1), load_average=os.getloadavg()[0],
                  throughput_ratio_on_off=round(on / off, 3) if off else None,
                  verify_seconds_10m=round(seconds * 10_000_000 / max(report.entries, 1), 1))
    emit(result)


if __name__ == "__main__":
    main()
