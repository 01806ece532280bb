"""Labeling page speed in Chromium: an annotator submits single-choice items by keyboard.

    python bench/ui.py --items 50 --database sqlite

Setup (not timed): a fresh database and server, the demo's sentiment project with N + 5 items, an annotator
account, Chromium signed in through the sign-in page. Timed: (1) the server's time to render the labeling page
(request to first byte, N page loads); (2) for each of N items, the time from pressing Ctrl+Enter to the next
item laid out and painted (measured in the page). Last stdout line:
{"database", "items", "render_ms_p50", "next_item_ms_p50", "next_item_ms_p99"}.
"""

from __future__ import annotations

import json
import statistics
import time

import httpx
from environment import emit, fresh_environment, log, parser, running_server
from playwright.sync_api import sync_playwright

from labelvault import demo
from labelvault.accounts.models import Role
from labelvault.sdk import Client
from labelvault.testing import chromium_path, make_actor


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=50)
    args = p.parse_args()
    chromium = chromium_path()
    if chromium is None:
        raise SystemExit("Chromium is needed: apt-get install chromium")

    with fresh_environment(args.database, args.pg_admin_url) as env, running_server(env) as server:
        spec = demo.projects(count=args.items + 5)[0]
        with Client(server.url, env.owner.token) as client:
            project = client.create_project(spec["name"], spec["schema"], guidelines=spec["guidelines"])
            items_file = env.data_dir / "items.jsonl"
            items_file.write_text("".join(json.dumps(item) + "\n" for item in spec["items"]))
            client.import_file(project["id"], items_file)
        annotator = make_actor(env.factory, Role.annotator, organization_id=env.owner.organization_id)
        page_path = f"/projects/{project['id']}/label"

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{server.url}/sign-in?next={page_path}")
            page.fill("input[name=email]", annotator.email)
            page.fill("input[name=password]", annotator.password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server.url}{page_path}")
            cookies = {c["name"]: c["value"] for c in page.context.cookies()}

            log(f"rendering the labeling page {args.items} times")
            render_ms = []
            with httpx.Client(base_url=server.url, cookies=cookies) as http:
                for _ in range(args.items):
                    started = time.perf_counter()
                    with http.stream("GET", page_path) as response:  # returns once the headers arrive
                        render_ms.append((time.perf_counter() - started) * 1000)
                        if response.status_code != 200:
                            raise SystemExit(f"the labeling page answered {response.status_code}")
                        response.read()

            log(f"submitting {args.items} items by keyboard")
            page.wait_for_function("() => document.body.dataset.itemId")
            next_ms = []
            for _ in range(args.items):
                page.evaluate("document.body.dataset.nextMs = ''")
                page.keyboard.press("1")
                page.keyboard.press("Control+Enter")
                page.wait_for_function("() => document.body.dataset.nextMs", timeout=10_000)
                next_ms.append(float(page.evaluate("document.body.dataset.nextMs")))
            browser.close()

        with Client(server.url, env.owner.token) as client:
            done = client.status(project["id"])["items"].get("completed", 0)
        log(f"items completed on the server: {done}")
        if done < args.items:
            raise SystemExit(f"expected {args.items} completed items, the server has {done}")

    emit({"database": args.database, "items": args.items,
          "render_ms_p50": round(statistics.median(render_ms), 1),
          "next_item_ms_p50": round(statistics.median(next_ms), 1),
          "next_item_ms_p99": round(percentile(next_ms, 0.99), 1)})


if __name__ == "__main__":
    main()
