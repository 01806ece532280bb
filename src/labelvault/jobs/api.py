"""HTTP routes of jobs: progress and the rejected lines of an import."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from labelvault.api.deps import DB, CanReadJobs, Ctx
from labelvault.api.paging import Page, page_size
from labelvault.errors import InvalidInput
from labelvault.jobs import service
from labelvault.jobs.schemas import JobOut, ProblemOut
from labelvault.kit.pagination import decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, principal: CanReadJobs, session: DB) -> JobOut:
    return JobOut.model_validate(service.get_job(session, principal, job_id))


def _problem_cursor(cursor: str | None) -> tuple[int, str] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    if len(values) != 2 or type(values[0]) is not int or not isinstance(values[1], str):
        raise InvalidInput("The cursor is not valid; use the `next_cursor` of a previous page.",
                           details={"field": "cursor"})
    return values[0], values[1]


@router.get("/{job_id}/problems", response_model=Page[ProblemOut])
def job_problems(job_id: str, principal: CanReadJobs, session: DB, ctx: Ctx, cursor: str | None = None,
                 limit: int | None = None) -> Page[ProblemOut]:
    """Rejected lines of an import, by line number: what and where."""
    job = service.get_job(session, principal, job_id)
    size = page_size(ctx.settings, limit)
    rows = service.problems(session, job, _problem_cursor(cursor), size)
    next_cursor = encode_cursor(rows[-1].line, rows[-1].id) if len(rows) == size else None
    return Page[ProblemOut](items=[ProblemOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{job_id}/problems.jsonl", response_class=StreamingResponse)
def job_problem_report(job_id: str, principal: CanReadJobs, session: DB, ctx: Ctx) -> StreamingResponse:
    """The whole report of rejected lines as JSONL, for download."""
    job = service.get_job(session, principal, job_id)

    def body() -> Iterator[bytes]:
        after: tuple[int, str] | None = None
        with ctx.factory() as reader:
            while True:
                rows = service.problems(reader, job, after, 5000)
                if not rows:
                    return
                yield b"".join(orjson.dumps({"line": r.line, "field": r.field, "reason": r.reason}) + b"\n"
                               for r in rows)
                after = (rows[-1].line, rows[-1].id)

    return StreamingResponse(body(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="problems-{job.id}.jsonl"'})
