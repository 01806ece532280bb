"""The export job: writes a project in a format into the blob store, with progress, then finishes.

The file is written under a temporary name and committed only when complete; a job taken over after a crash
writes it again from the start (exports have no side effects to resume).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from labelvault.db.engine import transaction
from labelvault.exports.bundle import write_bundle
from labelvault.exports.collector import collector_paused
from labelvault.exports.pages import export_pages
from labelvault.exports.records import ExportOptions, export_records
from labelvault.exports.service import blob_key
from labelvault.formats.base import Report
from labelvault.formats.registry import FORMATS
from labelvault.items import service as items
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job
from labelvault.jobs.runner import JobLost
from labelvault.projects import service as projects
from labelvault.projects.label_schema import FieldKind
from labelvault.storage import BlobStore

PROGRESS_SECONDS = 1.0
T = TypeVar("T")


class ExportJob:
    def __init__(self, store: BlobStore, media: BlobStore) -> None:
        self.store = store
        self.media = media

    def __call__(self, factory: sessionmaker[Session], job: Job, worker: str) -> None:
        fmt = FORMATS[job.params["format"]]
        options = ExportOptions.from_params(job.params["options"])
        with transaction(factory, write=False) as session:
            project = projects.project_for_job(session, job.organization_id, job.params["project_id"], "export")
            schema = projects.current_label_schema(session, project)
            counts = items.state_counts(session, project)
        states = options.export_filter().states
        total = sum(n for state, n in counts.items() if states is None or state in states)
        with transaction(factory) as session:
            if not jobs.progress(session, job.id, worker, {"total": total, "done": 0}):
                raise JobLost()
        report = Report()
        key = blob_key(job)
        with collector_paused(), self.store.open_write(key) as out:
            if fmt.write_pages is not None and options.by_pages():
                pages = export_pages(factory, job.organization_id, project.id, options)
                fmt.write_pages(self._counted(pages, factory, job, worker, lambda p: len(p.item_ids)), schema, out,
                                report)
            else:
                image_fields = ([f.name for f in schema.fields if f.kind is FieldKind.image]
                                if fmt.needs_image_size else [])
                records = export_records(factory, job.organization_id, project.id, options,
                                         image_fields=image_fields, media=self.media)
                fmt.write(self._counted(records, factory, job, worker, lambda _: 1), schema, out, report)
        self.store.commit(key)
        stats: dict[str, Any] = {**report.counts, "bytes": self.store.size(key), "notes": report.notes,
                                 "filename": f"{_slug(project.name)}-{job.id[:8]}.{fmt.extension}",
                                 "media_type": fmt.media_type}
        with transaction(factory) as session:
            jobs.progress(session, job.id, worker, {"done": report.counts["items"], "stats": stats})
            jobs.finish(session, job, worker)

    @staticmethod
    def _counted(parts: Iterator[T], factory: sessionmaker[Session], job: Job, worker: str,
                 items_in: Callable[[T], int]) -> Iterator[T]:
        """The records (or pages), with the job's progress in items (and heartbeat) written about once a
        second."""
        last = time.monotonic()
        done = 0
        for part in parts:
            yield part
            done += items_in(part)
            if time.monotonic() - last >= PROGRESS_SECONDS:
                last = time.monotonic()
                with transaction(factory) as session:
                    if not jobs.progress(session, job.id, worker, {"done": done}):
                        raise JobLost()


def _slug(name: str) -> str:
    kept = "".join(c.lower() if c.isalnum() else "-" for c in name).strip("-")
    return "-".join(p for p in kept.split("-") if p)[:60] or "project"


class BundleJob:
    """Writes a project's exit bundle into the blob store, with the rows written so far as progress."""

    def __init__(self, store: BlobStore, media: BlobStore) -> None:
        self.store = store
        self.media = media

    def __call__(self, factory: sessionmaker[Session], job: Job, worker: str) -> None:
        with transaction(factory, write=False) as session:
            project = projects.project_for_job(session, job.organization_id, job.params["project_id"], "bundle")
            name = project.name
        key = blob_key(job)
        last = [time.monotonic()]

        def on_rows(done: int) -> None:
            if time.monotonic() - last[0] >= PROGRESS_SECONDS:
                last[0] = time.monotonic()
                with transaction(factory) as progress:
                    if not jobs.progress(progress, job.id, worker, {"done": done}):
                        raise JobLost()

        with collector_paused(), factory() as session, self.store.open_write(key) as out:
            stats = write_bundle(session, self.media, job.organization_id, job.params["project_id"], out, on_rows)
            session.rollback()
        self.store.commit(key)
        rows = sum(stats.rows.values())
        summary = {"rows": stats.rows, "files": len(stats.files), "bytes": self.store.size(key),
                   "filename": f"{_slug(name)}-{job.id[:8]}.tar.zst", "media_type": "application/zstd"}
        with transaction(factory) as session:
            jobs.progress(session, job.id, worker, {"done": rows, "total": rows, "stats": summary})
            jobs.finish(session, job, worker)
