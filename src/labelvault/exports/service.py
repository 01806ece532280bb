"""Export rules: starting an export of a project in a format as a job, and handing out its file."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from labelvault.errors import Conflict, InvalidInput, NotFound
from labelvault.exports.records import ExportOptions
from labelvault.formats.registry import FORMATS, get_format
from labelvault.items.models import ItemState
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job, JobState
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.security.policy import Principal

EXPORT_JOB = "export"
# Formats that an aggregate cannot feed: quality control aggregates no written (free text) answer.
NOT_AGGREGATED = {"trl_sft": "its conversations are written answers, which quality control does not aggregate; "
                             "export it from the annotations"}
BUNDLE_JOB = "bundle"


def formats() -> list[dict[str, Any]]:
    return [{"name": f.name, "extension": f.extension, "media_type": f.media_type, "description": f.description,
             "importable": f.read is not None} for f in FORMATS.values()]


def check_options(options: ExportOptions) -> None:
    if options.only_accepted and options.states and ItemState.accepted not in options.states:
        raise InvalidInput("only_accepted exports accepted items; the states given leave them out.",
                           details={"field": "states"})
    options.export_filter().check()


def start_export(session: Session, principal: Principal, project: Project, fmt: str,
                 options: ExportOptions) -> Job:
    """Queue an export of the project in `fmt`; the job's file is downloadable once it has succeeded."""
    found = get_format(fmt)
    if found is None:
        raise InvalidInput(f"format must be one of {sorted(FORMATS)}.", details={"field": "format"})
    check_options(options)
    if options.aggregated and fmt in NOT_AGGREGATED:
        raise InvalidInput(f"{fmt} cannot hold aggregated labels: {NOT_AGGREGATED[fmt]}.",
                           details={"field": "aggregated"})
    problem = found.check_schema(projects.current_label_schema(session, project))
    if problem:
        raise InvalidInput(problem, details={"field": "format"})
    params = {"project_id": project.id, "format": fmt, "options": options.to_params()}
    return jobs.create_job(session, principal, EXPORT_JOB, params, project_id=project.id)


def start_bundle(session: Session, principal: Principal, project: Project) -> Job:
    """Queue the project's exit bundle (everything about it, checksummed); downloadable once it has succeeded."""
    return jobs.create_job(session, principal, BUNDLE_JOB, {"project_id": project.id}, project_id=project.id)


def export_job(session: Session, principal: Principal, job_id: str) -> Job:
    """A finished export or bundle job whose file may be downloaded."""
    job = jobs.get_job(session, principal, job_id)
    if job.kind not in (EXPORT_JOB, BUNDLE_JOB):
        raise NotFound("export")
    if job.state != JobState.succeeded:
        raise Conflict(f"The export is {job.state}; download it once it has succeeded.",
                       details={"state": job.state, "error": job.error})
    return job


def blob_key(job: Job) -> str:
    return f"exports/{job.id}"
