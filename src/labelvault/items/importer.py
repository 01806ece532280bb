"""The import job: streams an uploaded file in atomic batches; each batch commits with its progress.

A batch's items, its rejected lines and the job's checkpoint are written in one transaction, so after a
crash every acknowledged batch is complete and the job resumes after the last one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from labelvault.db.engine import transaction
from labelvault.items import repository as repo
from labelvault.items.foreign import FOREIGN_FORMATS, foreign_records
from labelvault.items.payload import ItemInput, ItemProblem, parse_item
from labelvault.items.readers import Record, open_records, read_jsonl
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job
from labelvault.jobs.runner import JobLost
from labelvault.kit.batches import batched
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.ops.metrics import IMPORT_REJECTED, IMPORTED_ITEMS
from labelvault.predictions import service as predictions
from labelvault.projects import service as projects
from labelvault.projects.label_schema import LabelSchema
from labelvault.storage import BlobStore
from labelvault.workforce import service as workforce

MAX_RECORDED_PROBLEMS = 100_000
STAT_KEYS = ("lines", "imported", "updated", "skipped", "rejected")
# Items imported by one job past which the database's planner statistics are refreshed at its end.
REFRESH_STATISTICS_AFTER = 10_000


class Importer:
    def __init__(self, store: BlobStore, *, batch_size: int, max_line: int) -> None:
        self.store = store
        self.batch_size = batch_size
        self.max_line = max_line

    def __call__(self, factory: sessionmaker[Session], job: Job, worker: str) -> None:
        with transaction(factory, write=False) as session:
            project = projects.project_for_job(session, job.organization_id, job.params["project_id"], "import")
            schema = projects.current_label_schema(session, project)
        run = _ImportRun(self, factory, job, worker, schema)
        run.execute()


class _ImportRun:
    def __init__(self, importer: Importer, factory: sessionmaker[Session], job: Job, worker: str,
                 schema: LabelSchema) -> None:
        self.importer = importer
        self.factory = factory
        self.job = job
        self.worker = worker
        self.schema = schema
        self.params = job.params
        self.checkpoint: dict[str, Any] = dict(job.checkpoint or {})
        self.stats: dict[str, int] = {k: int((job.stats or {}).get(k, 0)) for k in STAT_KEYS}
        # The `predictions` of the batch's lines, by external_id (a line may carry a model's pre-labels).
        self.predictions_of: dict[str, list[predictions.PredictionInput]] = {}

    def _records(self) -> Iterator[Record]:
        handle = self.importer.store.open_read(self.params["blob"])
        fmt = self.params["format"]
        done = int(self.checkpoint.get("records", 0))
        if fmt == "jsonl" and done:
            handle.seek(int(self.checkpoint.get("position", 0)))
            yield from read_jsonl(handle, self.importer.max_line, start_line=int(self.checkpoint["line"]))
        else:
            lines = (foreign_records(handle, fmt, self.schema) if fmt in FOREIGN_FORMATS
                     else open_records(handle, fmt, self.importer.max_line))
            for index, record in enumerate(lines):
                if index >= done:
                    yield record
        handle.close()

    def _batches(self) -> Iterator[list[Record]]:
        return batched(self._records(), self.importer.batch_size)

    def execute(self) -> None:
        validate_first = self.params.get("all_or_nothing") and not self.checkpoint.get("validated")
        if validate_first and not self._validate_all():
            return
        for batch in self._batches():
            before = dict(self.stats)
            with transaction(self.factory) as session:
                problems = self._write_batch(session, batch)
                self._commit_progress(session, batch, problems)
            IMPORTED_ITEMS.inc(self.stats["imported"] + self.stats["updated"] - before["imported"] - before["updated"])
            IMPORT_REJECTED.inc(self.stats["rejected"] - before["rejected"])
        with transaction(self.factory) as session:
            jobs.progress(session, self.job.id, self.worker, {"done": self.job.total})
            jobs.finish(session, self.job, self.worker)
        if self.stats["imported"] >= REFRESH_STATISTICS_AFTER:
            with transaction(self.factory) as session:
                repo.refresh_statistics(session)
        # Every line is now an item or a recorded problem: the uploaded file is no longer needed.
        self.importer.store.delete(self.params["blob"])

    def _validate_all(self) -> bool:
        """All-or-nothing: check every line (and duplicate ids) first; on any problem write nothing."""
        seen: set[bytes] = set()
        problems: list[dict[str, Any]] = []
        lines = 0
        for batch in self._batches():
            # Checking a large file takes long: keep the job's heartbeat fresh so no other worker takes it.
            with transaction(self.factory) as session:
                if not jobs.progress(session, self.job.id, self.worker, {}):
                    raise JobLost()
            self.predictions_of = {}
            for record in batch:
                lines += 1
                item, problem = self._parse(record)
                if item is not None:
                    digest = hashlib.blake2b(item.external_id.encode(), digest_size=12).digest()
                    if digest in seen:
                        problem = ("external_id", f"duplicate external_id {item.external_id!r} in this file")
                    seen.add(digest)
                if problem is not None and len(problems) < MAX_RECORDED_PROBLEMS:
                    problems.append(self._problem_row(record.line, problem))
        with transaction(self.factory) as session:
            if problems:
                jobs.add_problems(session, problems)
                self.stats.update(lines=lines, rejected=len(problems))
                jobs.progress(session, self.job.id, self.worker, {"stats": dict(self.stats), "done": self.job.total})
                jobs.finish(session, self.job, self.worker,
                            error=f"{len(problems)} bad lines; nothing was imported (all-or-nothing)")
                return False
            self.checkpoint["validated"] = True
            if not jobs.progress(session, self.job.id, self.worker, {"checkpoint": dict(self.checkpoint)}):
                raise JobLost()
        return True

    def _parse(self, record: Record) -> tuple[ItemInput | None, tuple[str, str] | None]:
        if record.problem is not None:
            return None, record.problem
        value, given = record.value, None
        if isinstance(value, dict) and "predictions" in value:
            value = {k: v for k, v in value.items() if k != "predictions"}
            given = record.value["predictions"]
        try:
            item = parse_item(value, self.schema)
            if given is not None:
                self.predictions_of.setdefault(item.external_id,
                                               predictions.parse_predictions(given, self.schema, item.data))
            return item, None
        except ItemProblem as problem:
            return None, (problem.field, problem.reason)
        except predictions.PredictionProblem as problem:
            return None, (problem.field, problem.reason)

    def _problem_row(self, line: int, problem: tuple[str, str]) -> dict[str, Any]:
        return {"id": new_id(), "organization_id": self.job.organization_id, "job_id": self.job.id,
                "line": line, "field": problem[0], "reason": problem[1]}

    def _write_batch(self, session: Session, batch: list[Record]) -> list[dict[str, Any]]:
        problems: list[dict[str, Any]] = []
        parsed: dict[str, tuple[int, ItemInput]] = {}
        self.predictions_of = {}
        for record in batch:
            item, problem = self._parse(record)
            if item is not None and item.external_id in parsed:
                first = parsed[item.external_id][0]
                problem = ("external_id", f"duplicate external_id {item.external_id!r} (first on line {first})")
            if problem is not None:
                problems.append(self._problem_row(record.line, problem))
            elif item is not None:
                parsed[item.external_id] = (record.line, item)
        org, project_id, job_id = self.job.organization_id, self.params["project_id"], self.job.id
        route = workforce.project_router(session, projects.project_for_job(session, org, project_id, "import"))
        existing = repo.existing_by_external_id(session, org, project_id, list(parsed))
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        seen_ids: list[str] = []
        update_mode = self.params["on_conflict"] == "update"
        for external_id, (line, item) in parsed.items():
            found = existing.get(external_id)
            if found is None:
                inserts.append(repo.new_item_row(
                    org, project_id, external_id, item.data, now, meta=item.meta, overlap=item.overlap,
                    priority=item.priority, import_job_id=job_id, pool=route(item.meta) if route is not None else ""))
            elif found[1] == job_id:
                problems.append(self._problem_row(
                    line, ("external_id", f"duplicate external_id {external_id!r} (earlier in this file)")))
            elif update_mode:
                updates.append({"b_id": found[0], "data": item.data, "metadata": item.meta,
                                "overlap": item.overlap, "priority": item.priority, "import_job_id": job_id,
                                "updated_at": now})
            else:
                seen_ids.append(found[0])
        repo.insert_items(session, inserts)
        repo.update_items(session, org, project_id, updates)
        repo.mark_seen_by_import(session, seen_ids, job_id)
        if self.predictions_of:
            self._store_predictions(session, inserts, existing)
        self.stats["imported"] += len(inserts)
        self.stats["updated"] += len(updates)
        self.stats["skipped"] += len(seen_ids)
        self.stats["rejected"] += len(problems)
        self.stats["lines"] += len(batch)
        recorded = int(self.checkpoint.get("problems_recorded", 0))
        room = max(0, MAX_RECORDED_PROBLEMS - recorded)
        jobs.add_problems(session, problems[:room])
        self.checkpoint["problems_recorded"] = recorded + min(room, len(problems))
        return problems

    def _store_predictions(self, session: Session, inserts: list[dict[str, Any]],
                           existing: dict[str, tuple[str, str | None]]) -> None:
        ids = {row["external_id"]: row["id"] for row in inserts}
        rows = []
        for external_id, given in self.predictions_of.items():
            found = existing.get(external_id)
            # An item seen earlier in this file is a rejected duplicate: its line's predictions are not kept.
            item_id = ids.get(external_id) or (found[0] if found and found[1] != self.job.id else "")
            if item_id:
                rows += [predictions.prediction_row(self.job.organization_id, self.params["project_id"], item_id, p)
                         for p in given]
        predictions.store_predictions(session, rows)

    def _commit_progress(self, session: Session, batch: list[Record], problems: list[dict[str, Any]]) -> None:
        last = batch[-1]
        self.checkpoint.update(
            records=int(self.checkpoint.get("records", 0)) + len(batch), position=last.position, line=last.line
        )
        ok = jobs.progress(session, self.job.id, self.worker, {
            "done": min(last.position, self.job.total), "checkpoint": dict(self.checkpoint),
            "stats": dict(self.stats),
        })
        if not ok:
            raise JobLost()
