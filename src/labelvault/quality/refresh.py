"""The quality refresh job: scores and aggregates of the items that changed, suspensions, then the report.

Queued by itself after submissions and review decisions (one pending job per project), or by a manager.
Incremental: only items with a submitted annotation or a gold answer written since the last refresh (the
watermark `refreshed_through`) are scored again, in batches that each commit with the job's progress, and
only the annotators whose gold scores changed are checked for suspension. A change of settings clears the
watermark: the next refresh recomputes everything. Work whose size is the whole project (the report, and
Dawid-Skene, which looks at every worker's record) is redone when a manager asks, after a full recompute, or
once it is due: no sooner than `DUE_FACTOR` times its last duration (at least `DUE_MIN`), so that a busy
project spends a bounded share of a worker on it while the scores and suspensions follow every annotation.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from labelvault.annotations.models import Annotation
from labelvault.db.engine import transaction
from labelvault.items import service as items
from labelvault.jobs import service as jobs
from labelvault.jobs.models import Job
from labelvault.jobs.runner import JobLost
from labelvault.kit.clock import utcnow
from labelvault.kit.ids import new_id
from labelvault.projects import label_schema as ls
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.quality import aggregation, service
from labelvault.quality import repository as repo
from labelvault.quality.answer_consensus import question_consensus
from labelvault.quality.models import AggregationMethod, QualityReport, QualitySettings, ScoreKind, Suspension
from labelvault.quality.report import AnnotationRow, ScoreRow, build_report
from labelvault.quality.scoring import Tolerances, score_answers

BATCH = 500
# The watermark stays this far behind the job's start: an annotation stamped before the start but committed
# after the job read the changes is taken by the next refresh instead of being missed.
WATERMARK_LAG = dt.timedelta(seconds=10)
DUE_MIN = dt.timedelta(seconds=30)
DUE_FACTOR = 20


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _score_rows(kind: str, annotation: Annotation, score: float, per_question: dict[str, Any]) -> dict[str, Any]:
    return {"id": new_id(), "organization_id": annotation.organization_id, "project_id": annotation.project_id,
            "annotation_id": annotation.id, "item_id": annotation.item_id, "author_id": annotation.author_id,
            "kind": kind, "score": score, "questions": per_question,
            "submitted_at": annotation.submitted_at or annotation.updated_at, "scored_at": utcnow()}


def _aggregate_row(annotation: Annotation, question: str, value: Any, confidence: float, method: str,
                   count: int) -> dict[str, Any]:
    return {"id": new_id(), "organization_id": annotation.organization_id, "project_id": annotation.project_id,
            "item_id": annotation.item_id, "question": question, "document": {"value": value},
            "confidence": round(float(confidence), 6), "method": method, "annotations": count,
            "computed_at": utcnow()}


def score_batch(session: Session, schema: ls.LabelSchema, tolerances: Tolerances, organization_id: str,
                project_id: str, item_ids: Sequence[str], gold_authors: set[str] | None = None,
                keep_method: str | None = None) -> dict[str, int]:
    """Gold scores, per-item consensus and consensus scores of a batch of items, replacing earlier ones.
    Aggregates made by `keep_method` stay (Dawid-Skene's until its next project-wide pass); the per-item
    consensus fills in where there is none."""
    golds = repo.gold_answers_of_items(session, organization_id, project_id, item_ids)
    by_item: dict[str, list[Annotation]] = defaultdict(list)
    for annotation in repo.submitted_of_items(session, organization_id, project_id, item_ids):
        by_item[annotation.item_id].append(annotation)
    questions = [q for q in schema.questions if not isinstance(q, ls.FreeText)]
    gold_rows, consensus_rows, aggregate_rows = [], [], []
    for item_id, given in by_item.items():
        gold = golds.get(item_id)
        if gold is not None:
            for a in given:
                score, per_question = score_answers(schema, a.answers, gold, tolerances)
                if score is not None:
                    gold_rows.append(_score_rows(ScoreKind.gold, a, score, per_question))
                    if gold_authors is not None:
                        gold_authors.add(a.author_id)
            continue
        consensus: dict[str, Any] = {}
        for q in questions:
            values = [a.answers[q.name] for a in given if not _empty(a.answers.get(q.name))]
            found = question_consensus(q, values, tolerances)
            if found is not None:
                consensus[q.name] = found[0]
                aggregate_rows.append(_aggregate_row(given[0], q.name, found[0], found[1],
                                                     AggregationMethod.majority, len(values)))
        if len(given) >= 2 and consensus:
            for a in given:
                score, per_question = score_answers(schema, a.answers, consensus, tolerances)
                if score is not None:
                    consensus_rows.append(_score_rows(ScoreKind.consensus, a, score, per_question))
    annotation_ids = [a.id for given in by_item.values() for a in given]
    repo.replace_scores(session, annotation_ids, ScoreKind.gold, gold_rows)
    repo.replace_scores(session, annotation_ids, ScoreKind.consensus, consensus_rows)
    if keep_method is not None:
        kept = repo.aggregated_by(session, organization_id, item_ids, keep_method)
        aggregate_rows = [r for r in aggregate_rows if (r["item_id"], r["question"]) not in kept]
    repo.replace_aggregates(session, item_ids, [q.name for q in questions], aggregate_rows, keep_method)
    return {"gold_scores": len(gold_rows), "aggregates": len(aggregate_rows)}


def _worker_weights(session: Session, organization_id: str, project_id: str, authors: list[str]) -> np.ndarray:
    """Each author's gold accuracy; authors without gold answers count as the average author."""
    totals: dict[str, list[float]] = defaultdict(list)
    for author, kind, score, _ in repo.scores(session, organization_id, project_id):
        if kind == ScoreKind.gold:
            totals[author].append(score)
    known = {a: sum(v) / len(v) for a, v in totals.items()}
    fallback = sum(known.values()) / len(known) if known else 1.0
    return np.array([max(known.get(a, fallback), 1e-6) for a in authors])


def aggregate_single_choice(session: Session, schema: ls.LabelSchema, settings: QualitySettings,
                            item_ids: Sequence[str] | None = None) -> int:
    """Single-choice aggregates by Dawid-Skene or the gold-weighted vote: of the whole project, or (weighted
    vote only: each item's result depends on its own votes and the authors' gold accuracy) of some items."""
    org, project_id = settings.organization_id, settings.project_id
    gold_items = repo.gold_item_ids(session, org, project_id)
    questions = [q for q in schema.questions if isinstance(q, ls.SingleChoice)]
    if item_ids is None:
        rows = [(item, author, answers) for item, author, answers, *_
                in repo.submitted_rows(session, org, project_id) if item not in gold_items]
    else:
        rows = [(a.item_id, a.author_id, a.answers) for start in range(0, len(item_ids), BATCH)
                for a in repo.submitted_of_items(session, org, project_id, item_ids[start:start + BATCH])
                if a.item_id not in gold_items]
    written = 0
    for q in questions:
        options = [o.value for o in q.options]
        index = {v: i for i, v in enumerate(options)}
        votes = [(item, author, index[a[q.name]]) for item, author, a in rows if a.get(q.name) in index]
        if not votes:
            continue
        items = sorted({v[0] for v in votes})
        authors = sorted({v[1] for v in votes})
        item_at = {item: i for i, item in enumerate(items)}
        author_at = {author: i for i, author in enumerate(authors)}
        counts = np.bincount([item_at[v[0]] for v in votes], minlength=len(items))
        data = aggregation.Votes.of([item_at[v[0]] for v in votes], [author_at[v[1]] for v in votes],
                                    [v[2] for v in votes], n_items=len(items), n_workers=len(authors),
                                    n_classes=len(options))
        if settings.method == AggregationMethod.dawid_skene:
            result = aggregation.dawid_skene(data).aggregate
        else:
            result = aggregation.weighted_vote(data, _worker_weights(session, org, project_id, authors))
        for start in range(0, len(items), BATCH):
            batch = items[start:start + BATCH]
            out = [{"id": new_id(), "organization_id": org, "project_id": project_id, "item_id": item,
                    "question": q.name, "document": {"value": options[int(result.labels[start + i])]},
                    "confidence": round(float(result.confidence[start + i]), 6), "method": settings.method,
                    "annotations": int(counts[start + i]), "computed_at": utcnow()}
                   for i, item in enumerate(batch)]
            repo.replace_aggregates(session, batch, [q.name], out)
            written += len(out)
    return written


def _summary(confidences: list[float], threshold: float) -> dict[str, Any]:
    return {"count": len(confidences),
            "mean_confidence": round(sum(confidences) / len(confidences), 6) if confidences else None,
            "below_threshold": sum(1 for c in confidences if c < threshold), "threshold": threshold}


def write_report(session: Session, schema: ls.LabelSchema, settings: QualitySettings, job_id: str | None,
                 timings: dict[str, Any] | None = None) -> None:
    """Rebuild the project's report from every submitted annotation and score (`timings`: when the project-wide
    work was last done and how long it took, kept in the report to decide when it is due again)."""
    began = time.monotonic()
    org, project_id = settings.organization_id, settings.project_id
    rows = [AnnotationRow(item, author, answers, spent, submitted or updated, review)
            for item, author, answers, spent, submitted, updated, review
            in repo.submitted_rows(session, org, project_id)]
    scores = [ScoreRow(*row) for row in repo.scores(session, org, project_id)]
    confidences = repo.aggregate_confidences(session, org, project_id)
    body = build_report(schema, rows, scores, _summary(confidences, settings.confidence_threshold))
    body["gold_items"] = len(repo.gold_item_ids(session, org, project_id))
    for card in body["scorecards"]:
        accuracy = card["gold_accuracy"]
        card["below_gold_threshold"] = accuracy is not None and accuracy < settings.gold_threshold
    body["method"] = settings.method
    now = utcnow()
    body["computed_at"] = now.isoformat()
    body["timings"] = {**(timings or {}), "report_seconds": round(time.monotonic() - began, 3)}
    report = repo.report(session, org, project_id)
    if report is None:
        session.add(QualityReport(project_id=project_id, organization_id=org, job_id=job_id, report=body,
                                  computed_at=now))
    else:
        report.report, report.job_id, report.computed_at = body, job_id, now


def adapt_overlap(session: Session, project: Project, settings: QualitySettings,
                  item_ids: Sequence[str]) -> dict[str, int]:
    """Adaptive overlap for the refreshed items, from their least confident aggregate."""
    totals = {"overlap_raised": 0, "closed_early": 0}
    for start in range(0, len(item_ids), BATCH):
        lowest = repo.lowest_confidences(session, settings.organization_id, item_ids[start:start + BATCH])
        more = [item for item, confidence in lowest.items() if confidence < settings.confidence_threshold]
        enough = [item for item, confidence in lowest.items() if confidence >= settings.early_stop_confidence]
        changed = items.adapt_overlap(session, project, more=more, enough=enough, max_overlap=settings.max_overlap)
        totals = {k: totals[k] + changed[k] for k in totals}
    return totals


def suspend_low_accuracy(session: Session, settings: QualitySettings, job_id: str | None,
                         authors: Sequence[str] | None = None) -> int:
    """Suspend each annotator (of `authors`, or all) whose rolling gold accuracy fell below the threshold;
    returns how many. Reads only the gold scores of those annotators."""
    org, project_id = settings.organization_id, settings.project_id
    if authors is None:
        authors = repo.gold_authors(session, org, project_id)
    if not authors:
        return 0
    history = repo.suspensions(session, org, project_id)
    active = {s.user_id for s in history if s.reinstated_at is None}
    # After a reinstatement only newer gold answers count, or the old ones would suspend again at once.
    since: dict[str, Any] = {}
    for s in history:
        if s.reinstated_at is not None and (s.user_id not in since or s.reinstated_at > since[s.user_id]):
            since[s.user_id] = s.reinstated_at
    scores: dict[str, list[tuple[Any, float]]] = defaultdict(list)
    wanted = sorted(set(authors) - active)
    for start in range(0, len(wanted), BATCH):
        for author, score, submitted_at in repo.gold_scores_of_authors(session, org, project_id,
                                                                       wanted[start:start + BATCH]):
            if author not in since or submitted_at > since[author]:
                scores[author].append((submitted_at, score))
    suspended = 0
    for author, rows in scores.items():
        window = [score for _, score in sorted(rows, key=lambda r: r[0])[-settings.gold_window:]]
        accuracy = sum(window) / len(window)
        if len(window) >= settings.gold_min_items and accuracy < settings.gold_threshold:
            session.add(Suspension(organization_id=org, project_id=project_id, user_id=author,
                                   gold_accuracy=round(accuracy, 6), gold_items=len(window),
                                   threshold=settings.gold_threshold, job_id=job_id))
            suspended += 1
    session.flush()
    return suspended


def _check(ok: bool) -> None:
    if not ok:
        raise JobLost()


def _due(timings: dict[str, Any], at: str, seconds: str, now: dt.datetime) -> bool:
    """Whether project-wide work last done at `timings[at]`, taking `timings[seconds]`, is due again."""
    if at not in timings:
        return True
    wait = max(DUE_MIN, dt.timedelta(seconds=DUE_FACTOR * float(timings.get(seconds, 0.0))))
    return now - dt.datetime.fromisoformat(timings[at]) >= wait


def refresh_project(factory: sessionmaker[Session], job: Job, worker: str) -> None:
    """The job handler: batches of changed items, suspensions, then the project-wide work that is due."""
    with transaction(factory) as session:
        project = projects.project_for_job(session, job.organization_id, job.params["project_id"])
        # From now on new annotations queue the next refresh: this one may not see them.
        repo.end_pending_refresh(session, project.organization_id, project.id, job.id)
        schema = projects.current_label_schema(session, project)
        settings = service.settings_of(session, project)
        tolerances = Tolerances(rating=settings.rating_tolerance, box_iou=settings.box_iou_threshold)
        started = utcnow()
        full = settings.refreshed_through is None
        item_ids = repo.changed_item_ids(session, project.organization_id, project.id, settings.refreshed_through)
        stored_report = repo.report(session, project.organization_id, project.id)
        timings = dict(stored_report.report.get("timings", {})) if stored_report is not None else {}
        _check(jobs.progress(session, job.id, worker, {"total": len(item_ids)}))
    stats: dict[str, Any] = {"items": len(item_ids), "gold_scores": 0, "aggregates": 0, "full": full}
    gold_authors: set[str] = set()
    complete = full or bool(job.params.get("complete"))
    # Dawid-Skene's aggregates stay until its next pass over the project, unless that pass is this job's.
    keep = AggregationMethod.dawid_skene if settings.method == AggregationMethod.dawid_skene and not (
        complete or _due(timings, "project_aggregates_at", "project_aggregates_seconds", started)) else None
    for start in range(0, len(item_ids), BATCH):
        batch = item_ids[start:start + BATCH]
        with transaction(factory) as session:
            counted = score_batch(session, schema, tolerances, project.organization_id, project.id, batch,
                                  gold_authors, keep)
            stats.update({k: stats[k] + v for k, v in counted.items()})
            _check(jobs.progress(session, job.id, worker, {"done": start + len(batch), "stats": dict(stats)}))
    with transaction(factory) as session:
        settings = service.settings_of(session, project)
        if settings.method == AggregationMethod.weighted and not complete:
            stats["weighted_aggregates"] = aggregate_single_choice(session, schema, settings, item_ids)
        elif settings.method != AggregationMethod.majority and (
                complete or _due(timings, "project_aggregates_at", "project_aggregates_seconds", started)):
            began = time.monotonic()
            stats["project_aggregates"] = aggregate_single_choice(session, schema, settings)
            timings.update(project_aggregates_at=utcnow().isoformat(),
                           project_aggregates_seconds=round(time.monotonic() - began, 3))
        if settings.adaptive_overlap:
            stats.update(adapt_overlap(session, project, settings, item_ids))
        if settings.auto_suspend:
            stats["suspended"] = suspend_low_accuracy(session, settings, job.id, None if full else sorted(gold_authors))
        if complete or _due(timings, "report_at", "report_seconds", started):
            timings["report_at"] = utcnow().isoformat()
            write_report(session, schema, settings, job.id, timings)
            stats["report"] = True
        elif "project_aggregates" in stats and stored_report is not None:
            kept = repo.report(session, project.organization_id, project.id)
            if kept is not None:
                kept.report = {**kept.report, "timings": timings}
        stored = repo.settings(session, project.organization_id, project.id)
        # A settings change during the job cleared the watermark: leave it cleared for the next refresh.
        if stored is not None and (stored.refreshed_through is not None or full) and stored.updated_at <= started:
            stored.refreshed_through = started - WATERMARK_LAG
        elif stored is None:
            settings.refreshed_through = started - WATERMARK_LAG
            session.add(settings)
        _check(jobs.progress(session, job.id, worker, {"stats": dict(stats)}))
        jobs.finish(session, job, worker)
