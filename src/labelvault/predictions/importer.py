"""The predictions import job: one prediction per line for items matched by external_id, in atomic batches.

Every bad line is recorded with its path and reason and the rest is stored, unless the job is all-or-nothing:
then every line is checked first and nothing is stored when one is bad.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from labelvault.db.engine import transaction
from labelvault.items import service as items
from labelvault.items.readers import Record, open_records
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job
from labelvault.jobs.runner import JobLost
from labelvault.kit.batches import batched
from labelvault.kit.ids import new_id
from labelvault.predictions import service
from labelvault.projects import service as projects
from labelvault.projects.label_schema import LabelSchema
from labelvault.storage import BlobStore

BATCH = 1000
MAX_RECORDED_PROBLEMS = 100_000


class PredictionImporter:
    def __init__(self, store: BlobStore, *, max_line: int) -> None:
        self.store = store
        self.max_line = max_line

    def __call__(self, factory: sessionmaker[Session], job: Job, worker: str) -> None:
        with transaction(factory, write=False) as session:
            project = projects.project_for_job(session, job.organization_id, job.params["project_id"], "import")
            schema = projects.current_label_schema(session, project)
        _Run(self, factory, job, worker, schema).execute()


class _Run:
    def __init__(self, importer: PredictionImporter, factory: sessionmaker[Session], job: Job, worker: str,
                 schema: LabelSchema) -> None:
        self.importer, self.factory, self.job, self.worker, self.schema = importer, factory, job, worker, schema
        self.done = int((job.checkpoint or {}).get("records", 0))
        self.stats: dict[str, int] = {k: int((job.stats or {}).get(k, 0))
                                      for k in ("lines", "imported", "rejected")}

    def _batches(self, skip: int) -> Iterator[list[Record]]:
        with self.importer.store.open_read(self.job.params["blob"]) as handle:
            records = open_records(handle, self.job.params["format"], self.importer.max_line)
            yield from batched(itertools.islice(records, skip, None), BATCH)

    def _check(self, session: Session, batch: list[Record]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(rows to store, problems) of one batch."""
        org, project_id = self.job.organization_id, self.job.params["project_id"]
        wanted = [str(r.value.get("external_id")) for r in batch if isinstance(r.value, dict)]
        found = items.items_by_external_id(session, org, project_id, wanted)
        rows: list[dict[str, Any]] = []
        problems: list[dict[str, Any]] = []
        seen: dict[tuple[str, str, str], int] = {}
        for record in batch:
            problem = record.problem
            if problem is None:
                problem, row = self._one(record.value, found, org, project_id)
                if row is not None:
                    key = (row["item_id"], row["model_name"], row["model_version"])
                    if key in seen:
                        problem = ("", f"repeats the prediction of line {seen[key]} (same item, model, version)")
                    else:
                        seen[key] = record.line
                        rows.append(row)
            if problem is not None:
                problems.append({"id": new_id(), "organization_id": org, "job_id": self.job.id,
                                 "line": record.line, "field": problem[0], "reason": problem[1]})
        return rows, problems

    def _one(self, value: Any, found: dict[str, tuple[str, dict[str, Any]]], org: str,
             project_id: str) -> tuple[tuple[str, str] | None, dict[str, Any] | None]:
        if not isinstance(value, dict):
            return ("", "must be an object {external_id, model_name, model_version, answers, score}"), None
        external_id = value.get("external_id")
        if not isinstance(external_id, str | int) or isinstance(external_id, bool) or external_id == "":
            return ("external_id", "is required: the item the prediction is for"), None
        item = found.get(str(external_id))
        if item is None:
            return ("external_id", f"no item of this project has external_id {str(external_id)!r}"), None
        body = {k: v for k, v in value.items() if k != "external_id"}
        try:
            parsed = service.parse_prediction(body, self.schema, item[1])
        except service.PredictionProblem as problem:
            return (problem.field, problem.reason), None
        return None, service.prediction_row(org, project_id, item[0], parsed)

    def execute(self) -> None:
        validate_first = self.job.params.get("all_or_nothing") and not (self.job.checkpoint or {}).get("validated")
        if validate_first and not self._validate_all():
            return
        for batch in self._batches(self.done):
            with transaction(self.factory) as session:
                rows, problems = self._check(session, batch)
                service.store_predictions(session, rows)
                room = max(0, MAX_RECORDED_PROBLEMS - self.stats["rejected"])
                jobs.add_problems(session, problems[:room])
                self.done += len(batch)
                self.stats["lines"] += len(batch)
                self.stats["imported"] += len(rows)
                self.stats["rejected"] += len(problems)
                checkpoint = {**(self.job.checkpoint or {}), "records": self.done}
                if not jobs.progress(session, self.job.id, self.worker, {
                        "done": min(batch[-1].position, self.job.total), "checkpoint": checkpoint,
                        "stats": dict(self.stats)}):
                    raise JobLost()
        with transaction(self.factory) as session:
            jobs.progress(session, self.job.id, self.worker, {"done": self.job.total})
            jobs.finish(session, self.job, self.worker)
        self.importer.store.delete(self.job.params["blob"])

    def _validate_all(self) -> bool:
        problems: list[dict[str, Any]] = []
        lines = 0
        for batch in self._batches(0):
            with transaction(self.factory) as session:
                if not jobs.progress(session, self.job.id, self.worker, {}):
                    raise JobLost()
                problems += self._check(session, batch)[1][:MAX_RECORDED_PROBLEMS - len(problems)]
            lines += len(batch)
        with transaction(self.factory) as session:
            if problems:
                jobs.add_problems(session, problems)
                stats = {"lines": lines, "imported": 0, "rejected": len(problems)}
                jobs.progress(session, self.job.id, self.worker, {"stats": stats, "done": self.job.total})
                jobs.finish(session, self.job, self.worker,
                            error=f"{len(problems)} bad lines; nothing was imported (all-or-nothing)")
                return False
            if not jobs.progress(session, self.job.id, self.worker, {"checkpoint": {"validated": True}}):
                raise JobLost()
        return True
