"""In Chromium: a manager edits the schema, the preview follows as they type, a bad schema shows the server's
problems next to the question they concern, and saving makes a new version."""

from __future__ import annotations

import json
from typing import Any

from tests.web.conftest import screenshot
from tests.web.test_review_browser import SPECS, sign_in_as


def _type(page: Any, schema: dict[str, Any] | str) -> None:
    text = schema if isinstance(schema, str) else json.dumps(schema, indent=2)
    page.locator("#definition").fill(text)


def test_manager_edits_the_schema_with_a_live_preview(page, seed):
    seeded = seed(SPECS[0])
    sign_in_as(page, seeded.url, seeded.owner, f"/projects/{seeded.project_id}/schema")
    page.wait_for_function("() => document.body.dataset.checked === 'valid'")
    preview = page.locator("#preview")
    assert preview.get_by_role("radio", name="negative", exact=True).is_visible()
    assert SPECS[0]["items"][0]["data"]["text"] in preview.inner_text()  # drawn on the project's first item
    assert page.get_by_role("button", name="Save as a new version").is_disabled()  # nothing changed yet

    schema = json.loads(page.locator("#definition").input_value())
    schema["questions"].append({"name": "topic", "type": "single_choice", "title": "Topic of the text",
                                "options": [{"value": "sports"}, {"value": "politics"}]})
    _type(page, schema)
    preview.get_by_text("Topic of the text").wait_for()
    assert preview.get_by_role("radio", name="politics").is_visible()
    page.wait_for_function("() => document.body.dataset.checked === 'valid'")

    bad = json.loads(json.dumps(schema))
    bad["questions"][2]["options"][1]["value"] = "sports"
    _type(page, bad)
    page.wait_for_function("() => document.body.dataset.checked === 'invalid'")
    flagged = page.locator("#outline li.has-problem")
    assert flagged.count() == 1 and "question topic" in flagged.inner_text()
    assert "duplicate option 'sports'" in flagged.inner_text()
    assert page.get_by_role("button", name="Save as a new version").is_disabled()
    screenshot(page, "schema-editor-problem")

    _type(page, '{"fields": [\n  {"name": }\n]}')
    page.wait_for_selector("#json-problem:text('Not valid JSON')")
    assert "line 2, column 12" in page.locator("#json-problem").inner_text()  # where, not only what

    _type(page, schema)
    page.wait_for_function("() => document.body.dataset.checked === 'valid'")
    assert page.locator("#json-problem").inner_text() == "" and page.locator("#outline li.has-problem").count() == 0
    page.get_by_role("button", name="Save as a new version").click()
    page.wait_for_function("() => document.body.dataset.version === '2'")
    assert page.locator("#version").inner_text() == "2"
    screenshot(page, "schema-editor")
    with seeded.sdk() as client:
        project = client.project(seeded.project_id)
    assert project["schema_version"] == 2
    assert [q["name"] for q in project["schema"]["questions"]] == ["sentiment", "reason", "topic"]
    assert page.watch.errors == [] and page.watch.dialogs == []
