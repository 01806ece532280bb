"""In Chromium: a manager imports a file with bad lines (upload and job progress, the report of rejected lines on
the page and as a download), then exports JSONL and reads it, and queues the exit bundle."""

from __future__ import annotations

import orjson
from tests.web.conftest import screenshot
from tests.web.test_review_browser import SPECS, sign_in_as, submitted_for_review

GOOD = [{"external_id": f"new-{i}", "data": {"text": f"Imported sentence {i}."}} for i in range(5)]
LINES = [
    orjson.dumps(GOOD[0]), orjson.dumps(GOOD[1]),
    b'{"external_id": "broken", "data": ',  # line 3: not JSON
    orjson.dumps(GOOD[2]),
    orjson.dumps({"external_id": "no-text", "data": {"other": 1}}),  # line 5: lacks the required text field
    orjson.dumps(GOOD[3]), orjson.dumps(GOOD[4]),
    orjson.dumps({"external_id": "new-0", "data": {"text": "again"}}),  # line 8: new-0 is on line 1
]


def test_manager_imports_with_bad_lines_and_downloads_the_report(page, seed, web_factory, tmp_path):
    seeded, _, _ = submitted_for_review(seed, web_factory, SPECS[0])
    sign_in_as(page, seeded.url, seeded.owner, f"/projects/{seeded.project_id}/import")
    page.get_by_label("File (JSONL, JSON or CSV)").set_input_files(
        {"name": "batch.jsonl", "mimeType": "application/x-ndjson", "buffer": b"\n".join(LINES) + b"\n"})
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_function("() => document.body.dataset.importState === 'succeeded'")
    assert page.locator("#upload-progress").get_attribute("value") == "100"
    assert page.locator("#job-progress").evaluate("bar => bar.value") == 100
    assert page.locator("#summary [data-stat=imported]").inner_text() == "5"
    assert page.locator("#summary [data-stat=rejected]").inner_text() == "3"
    rows = page.locator("#problems tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(3)] == ["3", "5", "8"]
    assert "text" in rows.nth(1).inner_text()  # what and where: the missing field is named
    screenshot(page, "import")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report (problems.jsonl)").click()
    report = [orjson.loads(line) for line in download.value.path().read_bytes().splitlines()]
    assert [r["line"] for r in report] == [3, 5, 8] and all(r["reason"] for r in report)
    assert {r["line"]: r["field"] for r in report}[5].endswith("text")
    assert "duplicate external_id 'new-0'" in report[2]["reason"]
    with seeded.sdk() as client:
        ids = {item["external_id"] for item in client.items(seeded.project_id)}
    assert {f"new-{i}" for i in range(5)} <= ids and "broken" not in ids and "no-text" not in ids
    assert page.watch.errors == [] and page.watch.dialogs == []


def _download(page):
    with page.expect_download() as download:
        page.locator("#download").click()
    return download.value


def test_manager_exports_jsonl_and_reads_it(page, seed, web_factory):
    seeded, _, work = submitted_for_review(seed, web_factory, SPECS[0])
    sign_in_as(page, seeded.url, seeded.owner, f"/projects/{seeded.project_id}/export")
    page.wait_for_function("() => Number(document.body.dataset.formats) > 1")
    page.locator("#format").select_option("jsonl")
    page.get_by_label("Leave out items without annotations").check()
    page.get_by_role("button", name="Export", exact=True).click()
    page.wait_for_function("() => document.body.dataset.exportState === 'succeeded'")
    file = _download(page)
    assert file.suggested_filename.endswith(".jsonl")
    records = [orjson.loads(line) for line in file.path().read_bytes().splitlines() if line.strip()]
    assert [r["external_id"] for r in records] == [work["item"]["external_id"]]  # only the annotated item
    assert records[0]["data"] == work["item"]["data"]
    assert [a["answers"] for a in records[0]["annotations"]] == [work["answers"]]

    page.get_by_label("Leave out items without annotations").uncheck()
    page.get_by_role("button", name="Export", exact=True).click()
    page.wait_for_function("() => document.body.dataset.exportState === 'succeeded'")
    everything = [orjson.loads(line) for line in _download(page).path().read_bytes().splitlines() if line.strip()]
    assert sorted(r["external_id"] for r in everything) == sorted(i["external_id"] for i in SPECS[0]["items"])

    page.locator("#format").select_option("hf_jsonl")  # a format made by a job: progress, then the file
    page.get_by_role("button", name="Export", exact=True).click()
    page.wait_for_function("() => document.body.dataset.exportState === 'succeeded'")
    assert page.locator("#job-progress").evaluate("bar => bar.value") == 100
    screenshot(page, "export")
    rows = [orjson.loads(line) for line in _download(page).path().read_bytes().splitlines() if line.strip()]
    assert any(work["item"]["external_id"] in orjson.dumps(row).decode() for row in rows)

    page.get_by_role("button", name="Exit bundle (everything, checksummed)").click()
    page.wait_for_function("() => document.body.dataset.exportState === 'succeeded'")
    assert _download(page).suggested_filename.endswith(".tar.zst")
    assert page.watch.errors == [] and page.watch.dialogs == []


def test_a_refused_filter_is_shown_on_the_form(page, seed, web_factory):
    seeded, _, _ = submitted_for_review(seed, web_factory, SPECS[0])
    sign_in_as(page, seeded.url, seeded.owner, f"/projects/{seeded.project_id}/export")
    page.wait_for_function("() => Number(document.body.dataset.formats) > 1")
    page.locator("#format").select_option("hf_jsonl")
    page.get_by_label("Only items accepted in review").check()
    page.get_by_label("new", exact=True).check()
    page.get_by_role("button", name="Export", exact=True).click()
    page.wait_for_selector("#form-problem:text('only_accepted')")
    assert page.locator("#download").is_hidden()
