"""Project rules: creation, settings, and versioned label schemas."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.orm import Session

from labelvault.errors import InvalidInput, NotFound
from labelvault.kit.clock import utcnow
from labelvault.projects import repository as repo
from labelvault.projects.label_schema import QUESTION_TYPES, LabelSchema, SchemaProblems
from labelvault.projects.models import Project, ProjectSchema
from labelvault.security.policy import Principal
from labelvault.workforce import service as workforce

MAX_OVERLAP = 100


def _schema_path(loc: tuple[int | str, ...]) -> list[str]:
    # Pydantic puts the question's type tag into the location ("questions.0.spans.field");
    # users wrote no such key, so it is left out.
    parts = [str(p) for p in loc]
    if len(parts) >= 3 and parts[0] == "questions" and parts[1].isdigit() and parts[2] in QUESTION_TYPES:
        del parts[2]
    return parts


def schema_problems(exc: ValidationError) -> list[dict[str, str]]:
    """Each problem of a schema definition with its path, e.g. `questions.2.options.1.value`."""
    problems = []
    for err in exc.errors():
        base = _schema_path(err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            base.append("type")
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, SchemaProblems):
            problems += [{"field": ".".join([*base, path]), "reason": reason}
                         for path, reason in cause.problems]
        else:
            problems.append({"field": ".".join(base), "reason": err["msg"]})
    return problems


def parse_schema(definition: Any) -> LabelSchema:
    """Validate a schema definition; errors name the path inside it."""
    try:
        return LabelSchema.model_validate(definition)
    except ValidationError as exc:
        problems = schema_problems(exc)
        first = problems[0]
        raise InvalidInput(
            f"The schema is not valid: {first['field'] or '(top)'}: {first['reason']}",
            details={"problems": problems},
        ) from None


def check_schema(definition: Any) -> list[dict[str, str]]:
    """The problems `change_schema` would refuse `definition` for (none when it would be saved), saving nothing."""
    try:
        LabelSchema.model_validate(definition)
    except ValidationError as exc:
        return schema_problems(exc)
    return []


@lru_cache(maxsize=256)
def _cached_schema(raw: bytes) -> LabelSchema:
    return LabelSchema.model_validate_json(raw)


def schema_from_row(row: ProjectSchema) -> LabelSchema:
    """Schemas never change once written, so parsed ones are cached by content."""
    return _cached_schema(orjson.dumps(row.definition, option=orjson.OPT_SORT_KEYS))


def project_for_job(session: Session, organization_id: str, project_id: str, work: str = "job") -> Project:
    """The project a background job works on, within the job's own organization. A job whose project was
    deleted meanwhile fails with that reason (`work` names the job: import, export, ...)."""
    project = repo.project(session, organization_id, project_id)
    if project is None:
        raise RuntimeError(f"the project of this {work} was deleted")
    return project


def get_project(session: Session, principal: Principal, project_id: str) -> Project:
    """The project, if the principal may see it: a vendor's people see only projects routed to their vendor
    (any other answers as a missing one)."""
    return visible(session, principal, repo.project(session, principal.organization_id, project_id))


def visible(session: Session, principal: Principal, project: Project | None) -> Project:
    """The project, if the principal may see it; else NotFound (as for a missing one)."""
    if project is None or not workforce.may_see_project(session, principal, project):
        raise NotFound("project")
    return project


def _check_overlap(overlap: int) -> None:
    if not 1 <= overlap <= MAX_OVERLAP:
        raise InvalidInput(f"overlap must be between 1 and {MAX_OVERLAP}.",
                           details={"field": "default_overlap"})


def create_project(
    session: Session,
    principal: Principal,
    *,
    name: str,
    schema: dict[str, Any],
    description: str = "",
    guidelines: str = "",
    default_overlap: int = 1,
    settings: dict[str, Any] | None = None,
) -> Project:
    """Create a project with version 1 of its label schema; `settings` holds distribution and review settings."""
    if not name.strip():
        raise InvalidInput("The project needs a name.", details={"field": "name"})
    _check_overlap(default_overlap)
    parsed = parse_schema(schema)
    project = Project(
        organization_id=principal.organization_id, name=name.strip(), description=description,
        guidelines=guidelines, default_overlap=default_overlap, schema_version=1,
        created_by_id=principal.user_id, lease_seconds=1800, review_mode="none", review_sample_percent=0,
        blind_review=False, queue_order="import",
    )
    _apply_settings(project, settings or {})
    session.add(project)
    session.flush()
    session.add(ProjectSchema(
        organization_id=principal.organization_id, project_id=project.id, version=1,
        definition=parsed.model_dump(mode="json", exclude_none=True), created_by_id=principal.user_id,
    ))
    session.flush()
    return project


SETTINGS = ("lease_seconds", "review_mode", "review_sample_percent", "blind_review", "queue_order")
REVIEW_MODES = ("none", "sample", "all")
QUEUE_ORDERS = ("import", "random")


def _apply_settings(project: Project, changes: dict[str, Any]) -> None:
    if "lease_seconds" in changes:
        if not 30 <= int(changes["lease_seconds"]) <= 7 * 24 * 3600:
            raise InvalidInput("lease_seconds must be between 30 and 604,800.", details={"field": "lease_seconds"})
        project.lease_seconds = int(changes["lease_seconds"])
    if "review_mode" in changes:
        if changes["review_mode"] not in REVIEW_MODES:
            raise InvalidInput(f"review_mode must be one of {list(REVIEW_MODES)}.", details={"field": "review_mode"})
        project.review_mode = changes["review_mode"]
    if "review_sample_percent" in changes:
        if not 0 <= int(changes["review_sample_percent"]) <= 100:
            raise InvalidInput("review_sample_percent must be between 0 and 100.",
                               details={"field": "review_sample_percent"})
        project.review_sample_percent = int(changes["review_sample_percent"])
    if "blind_review" in changes:
        project.blind_review = bool(changes["blind_review"])
    if "queue_order" in changes:
        if changes["queue_order"] not in QUEUE_ORDERS:
            raise InvalidInput(f"queue_order must be one of {list(QUEUE_ORDERS)}.", details={"field": "queue_order"})
        project.queue_order = changes["queue_order"]


def update_project(
    session: Session, principal: Principal, project: Project, changes: dict[str, Any]
) -> Project:
    """Change name, description, guidelines, default overlap, lease time or review settings."""
    _apply_settings(project, changes)
    if "name" in changes:
        if not str(changes["name"]).strip():
            raise InvalidInput("The project needs a name.", details={"field": "name"})
        project.name = str(changes["name"]).strip()
    if "description" in changes:
        project.description = changes["description"]
    if "guidelines" in changes:
        project.guidelines = changes["guidelines"]
    if "default_overlap" in changes:
        _check_overlap(changes["default_overlap"])
        project.default_overlap = changes["default_overlap"]
    project.updated_at = utcnow()
    session.flush()
    return project


def change_schema(
    session: Session, principal: Principal, project: Project, schema: dict[str, Any]
) -> ProjectSchema:
    """Save a new schema version; annotations keep the version they were made with."""
    parsed = parse_schema(schema)
    version = project.schema_version + 1
    row = ProjectSchema(
        organization_id=project.organization_id, project_id=project.id, version=version,
        definition=parsed.model_dump(mode="json", exclude_none=True), created_by_id=principal.user_id,
    )
    session.add(row)
    project.schema_version = version
    project.updated_at = utcnow()
    session.flush()
    return row


def get_schema(session: Session, project: Project, version: int | None = None) -> ProjectSchema:
    row = repo.schema_version(session, project.organization_id, project.id, version or project.schema_version)
    if row is None:
        raise NotFound("schema version")
    return row


def current_label_schema(session: Session, project: Project) -> LabelSchema:
    """The project's current schema. A schema version never changes once written, so it is read from the
    database once per process and version (a new version has a new key)."""
    key = (project.organization_id, project.id, project.schema_version)
    schema = _SCHEMAS.get(key)
    if schema is None:
        schema = schema_from_row(get_schema(session, project))
        with _SCHEMAS_LOCK:
            if len(_SCHEMAS) >= MAX_CACHED_SCHEMAS:
                _SCHEMAS.pop(next(iter(_SCHEMAS)))
            _SCHEMAS[key] = schema
    return schema


MAX_CACHED_SCHEMAS = 1024
_SCHEMAS: dict[tuple[str, str, int], LabelSchema] = {}
_SCHEMAS_LOCK = threading.Lock()


def list_projects(session: Session, principal: Principal, after: str | None, limit: int) -> list[Project]:
    return list(repo.projects_page(session, principal.organization_id, after, limit,
                                   only=workforce.visible_project_ids(session, principal)))


def list_schema_versions(session: Session, project: Project) -> list[ProjectSchema]:
    return list(repo.schema_versions(session, project.organization_id, project.id))
