"""Qualification exams: no real work before passing; attempts, scores and verdicts are recorded."""

from __future__ import annotations

from tests.quality.test_quality_api import make_project

from labelvault.accounts.models import Role


def _exam_setup(client, ctx, owner):
    project_id, _ = make_project(client, ctx, owner, items=2)
    questions = []
    for text, answer in [("I love it", "positive"), ("It is awful", "negative")]:
        added = client.post(f"/api/v1/projects/{project_id}/qualification/items",
                            json={"data": {"text": text}, "answers": {"sentiment": answer}}, headers=owner.headers)
        assert added.status_code == 201, added.text
        questions.append(added.json()["id"])
    assert client.patch(f"/api/v1/projects/{project_id}/quality/settings",
                        json={"qualification_required": True, "qualification_threshold": 1.0},
                        headers=owner.headers).status_code == 200
    return project_id, questions


def _attempt(client, actor, project_id, answers):
    return client.post(f"/api/v1/projects/{project_id}/qualification/attempts",
                       json={"answers": {q: {"sentiment": a} for q, a in answers.items()}}, headers=actor.headers)


def test_work_waits_for_a_passed_exam(client, ctx, owner, member_of):
    project_id, (first, second) = _exam_setup(client, ctx, owner)
    person = member_of(owner, Role.annotator)
    refused = client.post(f"/api/v1/projects/{project_id}/next", headers=person.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "qualification_required"

    exam = client.get(f"/api/v1/projects/{project_id}/qualification/exam", headers=person.headers).json()
    assert [q["id"] for q in exam["items"]] == sorted([first, second])
    assert all("answers" not in q for q in exam["items"])
    assert (exam["attempts_left"], exam["passed"], exam["threshold"]) == (2, False, 1.0)

    failed = _attempt(client, person, project_id, {first: "positive", second: "positive"})
    assert failed.status_code == 201 and failed.json()["passed"] is False and failed.json()["score"] == 0.5
    assert client.post(f"/api/v1/projects/{project_id}/next", headers=person.headers).status_code == 403
    passed = _attempt(client, person, project_id, {first: "positive", second: "negative"})
    assert passed.json()["passed"] is True and passed.json()["score"] == 1.0
    assert client.post(f"/api/v1/projects/{project_id}/next", headers=person.headers).status_code == 200
    again = _attempt(client, person, project_id, {first: "positive", second: "negative"})
    assert again.status_code == 409 and again.json()["code"] == "exam_passed"

    listed = client.get(f"/api/v1/projects/{project_id}/qualification/attempts", headers=owner.headers).json()
    assert [(a["user_id"], a["passed"]) for a in listed] == [(person.user_id, False), (person.user_id, True)]
    assert client.get(f"/api/v1/projects/{project_id}/qualification/attempts",
                      headers=person.headers).status_code == 403


def test_a_failed_annotator_runs_out_of_attempts_and_gets_no_real_items(client, ctx, owner, member_of):
    project_id, (first, second) = _exam_setup(client, ctx, owner)
    person = member_of(owner, Role.annotator)
    for _ in range(2):
        assert _attempt(client, person, project_id, {first: "neutral", second: "neutral"}).json()["passed"] is False
    exhausted = _attempt(client, person, project_id, {first: "positive", second: "negative"})
    assert exhausted.status_code == 409 and exhausted.json()["code"] == "no_attempts_left"
    assert client.post(f"/api/v1/projects/{project_id}/next", headers=person.headers).status_code == 403
    incomplete = _attempt(client, member_of(owner, Role.annotator), project_id, {first: "positive"})
    assert incomplete.status_code == 422


def test_exam_questions_are_checked_and_stay_out_of_the_queue(client, ctx, owner, member_of):
    project_id, _ = make_project(client, ctx, owner, items=1)
    bad_data = client.post(f"/api/v1/projects/{project_id}/qualification/items",
                           json={"data": {}, "answers": {"sentiment": "positive"}}, headers=owner.headers)
    assert bad_data.status_code == 422 and bad_data.json()["details"]["field"] == "data.text"
    bad_answer = client.post(f"/api/v1/projects/{project_id}/qualification/items",
                             json={"data": {"text": "x"}, "answers": {"sentiment": "maybe"}}, headers=owner.headers)
    assert bad_answer.status_code == 422
    assert client.post(f"/api/v1/projects/{project_id}/qualification/items",
                       json={"data": {"text": "x"}, "answers": {"sentiment": "neutral"}},
                       headers=owner.headers).status_code == 201
    listed = client.get(f"/api/v1/projects/{project_id}/items", headers=owner.headers).json()["items"]
    assert len(listed) == 1  # the exam question is not an item of the project
    # Without `qualification_required` nobody waits for the exam.
    assert client.post(f"/api/v1/projects/{project_id}/next",
                       headers=member_of(owner, Role.annotator).headers).status_code == 200
