"""Reading sealed gold answers as quality scoring does: N gold answers opened in batches of item ids.

    python bench/gold_read.py --gold 100000 --database sqlite

Setup (not timed): one project of N items, each a gold item with known answers (about 60 bytes of JSON), sealed
through the models. Timed, best of --repeat runs each: `quality.repository.gold_answers_of_items` over every item
in batches of 500 (the refresh's batch), which reads and opens each batch in one pass; and, for comparison, the
same reads as ORM objects whose `answers` attribute opens each row on its own. Last stdout line:
{"database", "gold", "seconds", "us_per_answer", "orm_seconds", "orm_us_per_answer", "load_average"}.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from typing import Any

from environment import emit, fresh_environment, log, parser
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.accounts import service as accounts
from labelvault.db.engine import transaction
from labelvault.items.models import Item
from labelvault.projects import service as projects
from labelvault.quality import repository as quality
from labelvault.quality.models import GoldAnswer
from labelvault.testing import TEXT_SCHEMA

BATCH = 500


def main() -> None:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--gold", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with fresh_environment(args.database, args.pg_admin_url) as env:
        org, now = env.owner.organization_id, dt.datetime.now(dt.UTC)
        with transaction(env.factory) as session:
            owner = accounts.principal_for(session, accounts.get_user(session, env.owner.user_id), org)
            project = projects.create_project(session, owner, name="Gold", schema=TEXT_SCHEMA).id
        ids = [f"item-{n:08d}" for n in range(args.gold)]
        log(f"sealing {args.gold} items and gold answers")
        for start in range(0, len(ids), 5000):
            with transaction(env.factory) as session:
                chunk = ids[start:start + 5000]
                session.add_all(Item(id=i, organization_id=org, project_id=project, external_id=i,
                                     data={"text": "t"}) for i in chunk)
                session.flush()
                session.add_all(GoldAnswer(organization_id=org, project_id=project, item_id=i,
                                           answers={"sentiment": "positive", "note": "n" * 30},
                                           created_by_id=env.owner.user_id, created_at=now, updated_at=now)
                                for i in chunk)

        def per_batch(session: Session, chunk: list[str]) -> dict[str, Any]:
            return quality.gold_answers_of_items(session, org, project, chunk)

        def per_row(session: Session, chunk: list[str]) -> dict[str, Any]:
            stmt = select(GoldAnswer).where(GoldAnswer.organization_id == org, GoldAnswer.project_id == project,
                                            GoldAnswer.item_id.in_(chunk))
            return {g.item_id: g.answers for g in session.scalars(stmt)}

        def best(read: Callable[[Session, list[str]], dict[str, Any]]) -> float:
            times = []
            for _ in range(args.repeat):
                with transaction(env.factory) as session:
                    started = time.perf_counter()
                    found = 0
                    for start in range(0, len(ids), BATCH):
                        found += len(read(session, ids[start:start + BATCH]))
                    times.append(time.perf_counter() - started)
                assert found == len(ids)
            return min(times)

        load = list(os.getloadavg())
        seconds, orm_seconds = best(per_batch), best(per_row)
        log(f"{seconds:.3f} s in batches, {orm_seconds:.3f} s as ORM objects")
        emit({"database": args.database, "gold": args.gold, "seconds": round(seconds, 4),
              "us_per_answer": round(seconds / args.gold * 1e6, 2), "orm_seconds": round(orm_seconds, 4),
              "orm_us_per_answer": round(orm_seconds / args.gold * 1e6, 2), "load_average": load})


if __name__ == "__main__":
    main()
