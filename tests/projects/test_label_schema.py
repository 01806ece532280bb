"""Label schemas: every question type validates, bad definitions name their path, versions through the API."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from labelvault import demo
from labelvault.accounts.models import Role
from labelvault.errors import InvalidInput
from labelvault.kit.ids import new_id
from labelvault.projects.label_schema import QUESTION_TYPES
from labelvault.projects.service import parse_schema
from labelvault.testing import TEXT_SCHEMA, make_actor

SCALE = [{"value": 1}, {"value": 2}, {"value": 3}]

FIELDS = [
    {"name": "text", "kind": "text"},
    {"name": "image", "kind": "image"},
    {"name": "responses", "kind": "responses"},
    {"name": "chat", "kind": "chat"},
    {"name": "score", "kind": "number"},
]

VALID_QUESTIONS: dict[str, dict[str, Any]] = {
    "single_choice": {"name": "sentiment", "type": "single_choice",
                      "options": [{"value": "positive", "hotkey": "p"}, {"value": "negative"}]},
    "multiple_choice": {"name": "topics", "type": "multiple_choice", "min_selected": 1, "max_selected": 2,
                        "options": [{"value": "sport"}, {"value": "food"}, {"value": "travel"}]},
    "spans": {"name": "entities", "type": "spans", "field": "text", "allow_overlap": True,
              "labels": [{"value": "PER"}, {"value": "ORG"}]},
    "boxes": {"name": "objects", "type": "boxes", "field": "image", "max_boxes": 10,
              "labels": [{"value": "cat"}, {"value": "dog"}]},
    "rating": {"name": "quality", "type": "rating", "scale": SCALE},
    "rubric": {"name": "rubric", "type": "rubric", "comments": "required",
               "criteria": [{"name": "helpful", "scale": SCALE}, {"name": "honest", "scale": SCALE}]},
    "pairwise": {"name": "preference", "type": "pairwise", "field": "responses", "allow_tie": False,
                 "reason": "required"},
    "ranking": {"name": "ranking", "type": "ranking", "field": "responses"},
    "free_text_write": {"name": "answer", "type": "free_text", "mode": "write", "min_length": 5,
                        "max_length": 50},
    "free_text_rewrite": {"name": "rewrite", "type": "free_text", "mode": "rewrite", "source_field": "text"},
    "chat_evaluation": {"name": "review", "type": "chat_evaluation", "field": "chat", "turn_scale": SCALE,
                        "rate_roles": ["assistant"], "verdicts": [{"value": "pass"}, {"value": "fail"}]},
}


def schema_with(*questions: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"fields": copy.deepcopy(fields or FIELDS), "questions": copy.deepcopy(list(questions))}


def problems_of(definition: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidInput) as raised:
        parse_schema(definition)
    problems: list[dict[str, str]] = raised.value.details["problems"]
    assert problems, "an invalid schema must list its problems"
    assert raised.value.code == "invalid_input"
    return problems


def fields_of(definition: Any) -> list[str]:
    return [p["field"] for p in problems_of(definition)]


def test_the_cases_cover_every_question_type():
    assert {q["type"] for q in VALID_QUESTIONS.values()} == QUESTION_TYPES


@pytest.mark.parametrize("case", sorted(VALID_QUESTIONS))
def test_each_question_type_accepts_a_valid_definition(case):
    question = VALID_QUESTIONS[case]
    parsed = parse_schema(schema_with(question))
    assert parsed.questions[0].type == question["type"]
    assert parsed.questions[0].name == question["name"]


def test_all_question_types_together_in_one_schema():
    parsed = parse_schema(schema_with(*VALID_QUESTIONS.values()))
    assert [q.name for q in parsed.questions] == [q["name"] for q in VALID_QUESTIONS.values()]


@pytest.mark.parametrize("project", demo.projects(count=1), ids=lambda p: p["name"])
def test_every_demo_project_schema_validates(project):
    parsed = parse_schema(project["schema"])
    assert len(parsed.questions) == len(project["schema"]["questions"])


def test_the_demo_covers_every_question_type():
    types = {q["type"] for p in demo.projects(count=1) for q in p["schema"]["questions"]}
    assert types == QUESTION_TYPES


def with_change(case: str, **changes: Any) -> dict[str, Any]:
    question = copy.deepcopy(VALID_QUESTIONS[case])
    question.update(changes)
    return question


INVALID: list[tuple[str, dict[str, Any], str]] = [
    # (case id, question, path of the problem)
    ("single_choice duplicate option",
     with_change("single_choice", options=[{"value": "a"}, {"value": "b"}, {"value": "a"}]),
     "questions.0.options.2.value"),
    ("single_choice one option", with_change("single_choice", options=[{"value": "a"}]), "questions.0.options"),
    ("single_choice empty option value", with_change("single_choice", options=[{"value": "a"}, {"value": ""}]),
     "questions.0.options.1.value"),
    ("single_choice two-letter hotkey",
     with_change("single_choice", options=[{"value": "a", "hotkey": "ab"}, {"value": "b"}]),
     "questions.0.options.0.hotkey"),
    ("multiple_choice duplicate option",
     with_change("multiple_choice", options=[{"value": "a"}, {"value": "a"}]), "questions.0.options.1.value"),
    ("multiple_choice max below min", with_change("multiple_choice", min_selected=2, max_selected=1),
     "questions.0.max_selected"),
    ("multiple_choice min above options", with_change("multiple_choice", min_selected=4, max_selected=None),
     "questions.0.min_selected"),
    ("spans on an image field", with_change("spans", field="image"), "questions.0.field"),
    ("spans on a missing field", with_change("spans", field="body"), "questions.0.field"),
    ("spans duplicate label", with_change("spans", labels=[{"value": "PER"}, {"value": "PER"}]),
     "questions.0.labels.1.value"),
    ("spans no labels", with_change("spans", labels=[]), "questions.0.labels"),
    ("boxes on a text field", with_change("boxes", field="text"), "questions.0.field"),
    ("boxes zero max", with_change("boxes", max_boxes=0), "questions.0.max_boxes"),
    ("rating one point", with_change("rating", scale=[{"value": 1}]), "questions.0.scale"),
    ("rating duplicate point", with_change("rating", scale=[{"value": 1}, {"value": 2}, {"value": 1}]),
     "questions.0.scale.2.value"),
    ("rubric duplicate criterion",
     with_change("rubric", criteria=[{"name": "helpful", "scale": SCALE}, {"name": "helpful", "scale": SCALE}]),
     "questions.0.criteria.1.name"),
    ("rubric criterion duplicate point",
     with_change("rubric", criteria=[{"name": "helpful", "scale": [{"value": 1}, {"value": 1}]}]),
     "questions.0.criteria.0.scale.1.value"),
    ("rubric bad comments mode", with_change("rubric", comments="sometimes"), "questions.0.comments"),
    ("pairwise on a text field", with_change("pairwise", field="text"), "questions.0.field"),
    ("pairwise duplicate strength", with_change("pairwise", strengths=["much", "much"]),
     "questions.0.strengths.1"),
    ("ranking on a chat field", with_change("ranking", field="chat"), "questions.0.field"),
    ("free_text max below min", with_change("free_text_write", min_length=10, max_length=5),
     "questions.0.max_length"),
    ("free_text negative min", with_change("free_text_write", min_length=-1), "questions.0.min_length"),
    ("free_text unknown mode", with_change("free_text_write", mode="translate"), "questions.0.mode"),
    ("rewrite without source_field", with_change("free_text_rewrite", source_field=None),
     "questions.0.source_field"),
    ("rewrite of a non-text field", with_change("free_text_rewrite", source_field="responses"),
     "questions.0.source_field"),
    ("chat_evaluation on a text field", with_change("chat_evaluation", field="text"), "questions.0.field"),
    ("chat_evaluation one verdict", with_change("chat_evaluation", verdicts=[{"value": "pass"}]),
     "questions.0.verdicts"),
    ("chat_evaluation duplicate verdict",
     with_change("chat_evaluation", verdicts=[{"value": "pass"}, {"value": "pass"}]),
     "questions.0.verdicts.1.value"),
    ("chat_evaluation no rated roles", with_change("chat_evaluation", rate_roles=[]), "questions.0.rate_roles"),
    ("unknown key", with_change("rating", colour="red"), "questions.0.colour"),
    ("bad question name", with_change("rating", name="Quality Score"), "questions.0.name"),
    ("unknown question type", {"name": "x", "type": "slider"}, "questions.0.type"),
]


@pytest.mark.parametrize(("question", "path"), [(q, p) for _, q, p in INVALID], ids=[c for c, _, _ in INVALID])
def test_invalid_question_is_rejected_naming_its_path(question, path):
    problems = problems_of(schema_with(question))
    assert path in [p["field"] for p in problems], problems
    assert all(p["reason"] for p in problems)


def test_the_message_names_the_first_problem():
    with pytest.raises(InvalidInput) as raised:
        parse_schema(schema_with(with_change("spans", field="image")))
    assert "questions.0.field" in raised.value.message
    assert "text field" in raised.value.message


def test_problems_of_several_questions_are_all_listed():
    fields = fields_of(schema_with(
        VALID_QUESTIONS["single_choice"],
        with_change("spans", field="image"),
        with_change("ranking", field="text"),
    ))
    assert fields == ["questions.1.field", "questions.2.field"]


def test_duplicate_question_and_field_names():
    fields = [{"name": "text", "kind": "text"}, {"name": "text", "kind": "chat"}]
    assert fields_of(schema_with(with_change("rating"), with_change("rating"), fields=fields)) == [
        "fields.1.name", "questions.1.name"]


@pytest.mark.parametrize(("definition", "path"), [
    ({"questions": [VALID_QUESTIONS["rating"]]}, "fields"),
    ({"fields": FIELDS, "questions": []}, "questions"),
    ({"fields": [{"name": "text", "kind": "audio"}], "questions": [VALID_QUESTIONS["rating"]]}, "fields.0.kind"),
    ({"fields": FIELDS, "questions": [VALID_QUESTIONS["rating"]], "version": 3}, "version"),
])
def test_invalid_top_level(definition, path):
    assert path in fields_of(definition)


CHOICE = {"name": "sentiment", "type": "single_choice", "options": [{"value": "positive"}, {"value": "negative"}]}
REASON = {"name": "reason", "type": "free_text", "required": False}


def test_show_when_on_an_earlier_choice_is_valid():
    parsed = parse_schema(schema_with(CHOICE, {**REASON, "show_when": {"question": "sentiment",
                                                                        "equals": "negative"}}))
    assert parsed.questions[1].show_when.question == "sentiment"


def test_show_when_on_a_rating_value_is_valid():
    parse_schema(schema_with(VALID_QUESTIONS["rating"], {**REASON, "show_when": {"question": "quality",
                                                                                  "equals": 1}}))


@pytest.mark.parametrize(("questions", "path"), [
    ([{**REASON, "show_when": {"question": "sentiment", "equals": "negative"}}, CHOICE],
     "questions.0.show_when.question"),
    ([CHOICE, {**REASON, "show_when": {"question": "mood", "equals": "negative"}}],
     "questions.1.show_when.question"),
    ([{**REASON, "show_when": {"question": "reason", "equals": "x"}}], "questions.0.show_when.question"),
    ([CHOICE, {**REASON, "show_when": {"question": "sentiment", "equals": "negativ"}}],
     "questions.1.show_when.equals"),
    ([VALID_QUESTIONS["rating"], {**REASON, "show_when": {"question": "quality", "equals": 7}}],
     "questions.1.show_when.equals"),
    ([VALID_QUESTIONS["rating"], {**REASON, "show_when": {"question": "quality", "equals": True}}],
     "questions.1.show_when.equals"),
    ([VALID_QUESTIONS["free_text_write"], {**REASON, "show_when": {"question": "answer", "equals": "yes"}}],
     "questions.1.show_when.question"),
], ids=["later question", "unknown question", "itself", "unknown option", "value off the scale",
        "boolean for a rating", "free text as condition"])
def test_show_when_that_can_never_be_met_is_rejected(questions, path):
    problems = problems_of(schema_with(*questions))
    assert [p["field"] for p in problems] == [path]


def test_schema_that_is_not_an_object():
    assert fields_of(["questions"]) == [""]


# Through the API


def create_project(client, actor, schema=None, **extra):
    response = client.post("/api/v1/projects", json={"name": "Reviews", "schema": schema or TEXT_SCHEMA, **extra},
                           headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()


def import_items(client, ctx, actor, project_id, rows):
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    job = client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "items.jsonl"},
                      content=body, headers=actor.headers)
    assert job.status_code == 202, job.text
    ctx.runner.run_until_idle()
    items = client.get(f"/api/v1/projects/{project_id}/items", headers=actor.headers).json()["items"]
    assert len(items) == len(rows)
    return items


def test_create_project_returns_schema_version_1(client, owner):
    project = create_project(client, owner)
    assert project["schema_version"] == 1
    assert project["schema"]["questions"][0]["name"] == "sentiment"
    assert [f["name"] for f in project["schema"]["fields"]] == ["text"]
    fetched = client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers).json()
    assert fetched["schema"] == project["schema"]


def test_schema_change_makes_a_new_version_and_keeps_the_old(client, ctx, owner, member_of):
    project = create_project(client, owner, default_overlap=2)
    item = import_items(client, ctx, owner, project["id"], [{"external_id": "a", "data": {"text": "Fine."}}])[0]
    annotator = member_of(owner, Role.annotator)
    before = client.post(f"/api/v1/items/{item['id']}/annotations", json={"answers": {"sentiment": "neutral"}},
                         headers=annotator.headers)
    assert before.status_code == 201, before.text
    assert before.json()["schema_version"] == 1

    changed = copy.deepcopy(TEXT_SCHEMA)
    changed["questions"].append({"name": "sarcastic", "type": "single_choice", "required": False,
                                 "options": [{"value": "yes"}, {"value": "no"}]})
    response = client.put(f"/api/v1/projects/{project['id']}/schema", json=changed, headers=owner.headers)
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 2
    assert [q["name"] for q in response.json()["definition"]["questions"]] == ["sentiment", "entities",
                                                                              "sarcastic"]

    detail = client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers).json()
    assert detail["schema_version"] == 2
    assert len(detail["schema"]["questions"]) == 3

    versions = client.get(f"/api/v1/projects/{project['id']}/schema/versions", headers=annotator.headers)
    assert versions.status_code == 200
    assert [v["version"] for v in versions.json()] == [1, 2]
    assert len(versions.json()[0]["definition"]["questions"]) == 2
    assert versions.json()[1]["created_by_id"] == owner.user_id

    kept = client.get(f"/api/v1/annotations/{before.json()['id']}", headers=annotator.headers).json()
    assert kept["schema_version"] == 1
    assert kept["answers"] == {"sentiment": "neutral"}

    other = member_of(owner, Role.annotator)
    after = client.post(f"/api/v1/items/{item['id']}/annotations",
                        json={"answers": {"sentiment": "neutral", "sarcastic": "yes"}}, headers=other.headers)
    assert after.status_code == 201, after.text
    assert after.json()["schema_version"] == 2


def test_invalid_schema_on_create_answers_422_naming_fields(client, owner):
    schema = schema_with(VALID_QUESTIONS["rating"], with_change("spans", field="image"))
    response = client.post("/api/v1/projects", json={"name": "Bad", "schema": schema}, headers=owner.headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert [p["field"] for p in body["details"]["problems"]] == ["questions.1.field"]
    assert client.get("/api/v1/projects", headers=owner.headers).json()["items"] == []


def test_invalid_schema_change_answers_422_and_keeps_the_version(client, owner):
    project = create_project(client, owner)
    bad = copy.deepcopy(TEXT_SCHEMA)
    bad["questions"][0]["options"].append({"value": "positive"})
    response = client.put(f"/api/v1/projects/{project['id']}/schema", json=bad, headers=owner.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert response.json()["details"]["problems"][0]["field"] == "questions.0.options.3.value"
    versions = client.get(f"/api/v1/projects/{project['id']}/schema/versions", headers=owner.headers).json()
    assert [v["version"] for v in versions] == [1]


def test_create_project_without_schema_answers_422(client, owner):
    response = client.post("/api/v1/projects", json={"name": "No schema"}, headers=owner.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert [p["field"] for p in response.json()["details"]["problems"]] == ["schema"]


@pytest.mark.parametrize("role", [Role.annotator, Role.reviewer])
def test_roles_below_manager_may_not_create_projects_or_change_schemas(client, owner, member_of, role):
    project = create_project(client, owner)
    member = member_of(owner, role)
    created = client.post("/api/v1/projects", json={"name": "Mine", "schema": TEXT_SCHEMA}, headers=member.headers)
    assert created.status_code == 403
    assert created.json()["code"] == "forbidden"
    changed = client.put(f"/api/v1/projects/{project['id']}/schema", json=TEXT_SCHEMA, headers=member.headers)
    assert changed.status_code == 403
    versions = client.get(f"/api/v1/projects/{project['id']}/schema/versions", headers=owner.headers).json()
    assert len(versions) == 1


def test_manager_may_create_projects(client, owner, member_of):
    manager = member_of(owner, Role.manager)
    assert create_project(client, manager)["schema_version"] == 1


def test_another_organizations_project_answers_like_a_missing_one(client, owner, factory):
    project = create_project(client, owner)
    stranger = make_actor(factory, Role.owner)
    missing_id = new_id()
    for method, suffix, body in [("GET", "", None), ("GET", "/schema/versions", None),
                                 ("PUT", "/schema", TEXT_SCHEMA), ("PATCH", "", {"name": "Mine now"})]:
        theirs = client.request(method, f"/api/v1/projects/{project['id']}{suffix}", json=body,
                                headers=stranger.headers)
        missing = client.request(method, f"/api/v1/projects/{missing_id}{suffix}", json=body,
                                 headers=stranger.headers)
        assert theirs.status_code == missing.status_code == 404, (method, suffix)
        assert theirs.json() == missing.json()
        assert theirs.json()["code"] == "not_found"
    detail = client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers).json()
    assert detail["name"] == "Reviews" and detail["schema_version"] == 1
