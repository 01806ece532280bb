"""Browser fixtures: a real server on a database of its own, Debian's Chromium through Playwright, seeded projects.

The server gets its own database, not the test worker's: its job runner would otherwise take the import jobs
of in-process tests (whose uploads it cannot see), and theirs would take its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.models import Role
from labelvault.db.engine import build_engine, session_factory
from labelvault.db.migrate import upgrade
from labelvault.demo import demo_images
from labelvault.sdk import Client
from labelvault.testing import (
    Actor,
    ServerProcess,
    browser_required,
    chromium_path,
    fresh_database,
    make_actor,
    start_server,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screens"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives Chromium is a browser test (`-m browser`; `make test-fast` leaves them out)."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        reason = "Chromium is not installed at /usr/bin/chromium (apt-get install chromium); browser tests need it"
        if browser_required():
            pytest.fail(f"LABELVAULT_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def web_database(db_kind: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(db_kind, tmp_path_factory.mktemp("web-db"), pg_admin_url) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def web_factory(web_database: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(web_database)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def live_server(chromium: str, web_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("server"), web_database, LABELVAULT_LOG_LEVEL="WARNING",
                          LABELVAULT_JOB_POLL_SECONDS="0.1")
    yield server
    server.stop()


@dataclass
class Watch:
    """What a page did that it must not: dialogs opened, script errors."""

    dialogs: list[str]
    errors: list[str]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    tab = context.new_page()
    tab.set_default_timeout(8000)
    watch = Watch([], [])
    tab.on("dialog", lambda dialog: (watch.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: watch.errors.append(str(error)))
    tab.watch = watch
    yield tab
    context.close()


@dataclass
class Seeded:
    url: str
    owner: Actor
    annotator: Actor
    project_id: str

    def sdk(self) -> Client:
        return Client(self.url, self.owner.token)

    def submitted(self, item_id: str) -> dict[str, Any]:
        with self.sdk() as client:
            found = [a for a in client.annotations(item_id) if a["status"] == "submitted"]
        assert len(found) == 1, found
        return found[0]["answers"]  # type: ignore[no-any-return]


@pytest.fixture
def seed(live_server: ServerProcess, web_factory: sessionmaker[Session], tmp_path: Path):  # type: ignore[no-untyped-def]
    """seed(spec) -> a project made from a demo-like spec, an owner and an annotator of its organization."""

    def make(spec: dict[str, Any]) -> Seeded:
        owner = make_actor(web_factory, Role.owner)
        annotator = make_actor(web_factory, Role.annotator, organization_id=owner.organization_id)
        with Client(live_server.url, owner.token) as client:
            project = client.create_project(spec["name"], spec["schema"], guidelines=spec.get("guidelines", ""))
            if any(f["kind"] == "image" for f in spec["schema"]["fields"]):
                for path, content in demo_images().items():
                    client.upload_media(project["id"], path, content)
            file = tmp_path / f"{project['id']}.jsonl"
            file.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in spec["items"]))
            job = client.import_file(project["id"], file)
            assert job["state"] == "succeeded", job
        return Seeded(live_server.url, owner, annotator, project["id"])

    return make


def sign_in(page: Any, seeded: Seeded, path: str = "/") -> None:
    page.goto(f"{seeded.url}{path}")
    page.fill("input[name=email]", seeded.annotator.email)
    page.fill("input[name=password]", seeded.annotator.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{seeded.url}{path}")


def open_labeling(page: Any, seeded: Seeded) -> str:
    sign_in(page, seeded, f"/projects/{seeded.project_id}/label")
    return current_item(page)


def current_item(page: Any, other_than: str = "") -> str:
    page.wait_for_function("(old) => (document.body.dataset.itemId ?? old) !== old", arg=other_than)
    return str(page.evaluate("document.body.dataset.itemId"))


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
