"""The project overview: counts per state, the annotator table and the weekly chart from the quality report."""

from __future__ import annotations

import re

from tests.quality.test_quality_api import make_project, refresh, submit

from labelvault.accounts.models import Role
from labelvault.web.overview import weekly_chart


def test_weekly_chart_sums_annotators_and_runs_a_total():
    chart = weekly_chart([{"trend": [{"week": "2026-W01", "annotations": 3}, {"week": "2026-W02", "annotations": 1}]},
                          {"trend": [{"week": "2026-W02", "annotations": 5}]}])
    assert chart is not None and chart.total == 9 and chart.top == 6
    assert [(b.label, b.value) for b in chart.bars] == [("2026-W01", 3), ("2026-W02", 6)]
    assert chart.bars[1].height > chart.bars[0].height
    assert chart.line.endswith(",30.0")  # the running total reaches the top of the chart
    assert weekly_chart([]) is None


def test_overview_shows_states_annotators_and_chart(client, ctx, owner, member_of):
    project_id, items = make_project(client, ctx, owner, items=3)
    fast, slow = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    for item in items:
        submit(client, fast, item["id"], {"sentiment": "positive", "stars": 4}, time_spent_ms=10_000)
    submit(client, slow, items[0]["id"], {"sentiment": "negative", "stars": 2}, time_spent_ms=50_000)
    before = client.post("/sign-in", data={"email": owner.email, "password": owner.password, "next": "/"})
    assert before.status_code == 200
    page = client.get(f"/projects/{project_id}/overview")
    assert page.status_code == 200 and "No quality report yet" in page.text
    refresh(client, ctx, owner, project_id)
    page = client.get(f"/projects/{project_id}/overview")
    assert page.status_code == 200
    rows = re.findall(r'<tr><td title="([^"]+)">([^<]+)</td><td>(\d+)</td><td>([^<]+)</td>', page.text)
    assert {(user, name, int(n), seconds) for user, name, n, seconds in rows} == {  # named, not by id
        (fast.user_id, fast.email, 3, "10.0"), (slow.user_id, slow.email, 1, "50.0")}
    assert re.search(r'<svg id="chart" role="img"', page.text) and page.text.count('class="bar"') >= 1
    assert "4 in all" in page.text
    total = sum(int(n) for n in re.findall(r'<td data-state="[a-z_]+">(\d+)</td>', page.text))
    assert total == 3
