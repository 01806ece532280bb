"""Factories and helpers reused by the tests (and benchmarks): real databases, real servers, no mocks."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts import service as accounts
from labelvault.accounts.models import Role
from labelvault.crypto.content import EnvelopeCipher, bind_cipher
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.media import SealedBlobStore
from labelvault.crypto.service import Envelope
from labelvault.db.engine import build_engine, session_factory, transaction
from labelvault.db.migrate import upgrade
from labelvault.db.models import metadata
from labelvault.storage import LocalBlobStore

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_postgres_database(admin_url: str, name: str) -> str:
    """Create a fresh, empty PostgreSQL database next to `admin_url`'s and return its URL."""
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, name: str) -> None:
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(kind: str, directory: Path, admin_url: str = DEFAULT_PG_ADMIN_URL) -> Iterator[str]:
    """A fresh SQLite file in `directory` or a fresh PostgreSQL database, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'labelvault.db'}"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"lv_{os.getpid()}_{secrets.token_hex(4)}"
    url = create_postgres_database(admin_url, name)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, name)


def sqlite_file_bytes(engine: Engine) -> bytes:
    """Every byte of a SQLite database's files (the database, its WAL and shared memory), after moving the WAL's
    pages into the database. Read by another process: closing a file of the database in this one would release
    every lock this process's SQLite connections hold on it (POSIX advisory locks go with any close), and its
    next new connection would then fail with "disk I/O error"."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database = Path(engine.url.database or "")
    paths = sorted(str(p) for p in database.parent.glob(database.name + "*") if p.is_file())
    read = "import sys; [sys.stdout.buffer.write(open(path, 'rb').read()) for path in sys.argv[1:]]"
    return subprocess.run([sys.executable, "-c", read, *paths], capture_output=True, check=True).stdout


def wipe(engine: Engine) -> None:
    """Remove every row (tests share one migrated database per worker)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


@dataclass
class Actor:
    """A member of an organization with an API token."""

    user_id: str
    email: str
    organization_id: str
    role: Role
    token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_actor(
    factory: sessionmaker[Session], role: Role = Role.owner, *, organization_id: str | None = None,
    email: str | None = None, is_admin: bool = False, vendor_id: str | None = None,
) -> Actor:
    """A user (new organization unless one is given) with `role` and a fresh API token; with `vendor_id`, a
    member who works for that vendor."""
    password = secrets.token_urlsafe(16)
    email = email or f"{role.value}-{secrets.token_hex(4)}@example.test"
    with transaction(factory) as session:
        if organization_id is None:
            organization_id = accounts.create_organization(session, f"Org {secrets.token_hex(3)}").id
        user = accounts.create_user(session, email, password, is_admin=is_admin)
        accounts.add_member(session, organization_id, user.id, role, vendor_id)
        principal = accounts.principal_for(session, user, organization_id)
        token = accounts.create_token(session, principal, "test").secret
    return Actor(user.id, email, organization_id, role, token, password)


TEXT_SCHEMA: dict[str, Any] = {
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "type": "single_choice",
         "options": [{"value": "positive"}, {"value": "neutral"}, {"value": "negative"}]},
        {"name": "entities", "type": "spans", "field": "text", "required": False,
         "labels": [{"value": "PER"}, {"value": "ORG"}, {"value": "LOC"}]},
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def server_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELVAULT_")}
    env.update(LABELVAULT_DATA_DIR=str(data_dir), LABELVAULT_DATABASE_URL=database_url, **extra)
    return env


def start_server(data_dir: Path, database_url: str, *, workers: int = 1, timeout: float = 30,
                 **extra: str) -> ServerProcess:
    """Start `labelvault serve` in a real process on a free port and wait until it is ready."""
    port = free_port()
    env = server_env(data_dir, database_url, **extra)
    log = open(data_dir / f"server-{port}.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [sys.executable, "-m", "labelvault.cli.main", "serve", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early; see {log.name}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return ServerProcess(url, process, env)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server not ready after {timeout} s; see {log.name}")


CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str | None:
    """Debian's Chromium, which the browser tests drive (LABELVAULT_CHROMIUM names another binary)."""
    path = os.environ.get("LABELVAULT_CHROMIUM", CHROMIUM)
    return path if Path(path).is_file() and os.access(path, os.X_OK) else None


def browser_required() -> bool:
    """CI sets LABELVAULT_REQUIRE_BROWSER=1: a missing Chromium then fails the browser tests, never skips them."""
    return os.environ.get("LABELVAULT_REQUIRE_BROWSER", "") == "1"


@contextmanager
def server_on_fresh_database(kind: str, directory: Path, admin_url: str = DEFAULT_PG_ADMIN_URL,
                             **extra: str) -> Iterator[tuple[ServerProcess, sessionmaker[Session]]]:
    """A migrated fresh database, a real server on it, and a session factory for setting up test data."""
    with fresh_database(kind, directory, admin_url) as url:
        upgrade(url)
        engine = build_engine(url)
        data_dir = directory / "data"
        data_dir.mkdir()
        server = start_server(data_dir, url, timeout=90, **extra)  # type: ignore[arg-type]
        try:
            yield server, session_factory(engine)
        finally:
            server.stop()
            engine.dispose()


def api_project(client: Any, actor: Actor, schema: dict[str, Any], items: list[dict[str, Any]],
                runner: Any, name: str = "P", **settings: Any) -> str:
    """A project made through the API (a TestClient) with `items` imported; returns its id. `settings` go
    with the project (e.g. default_overlap)."""
    project_id = str(client.post("/api/v1/projects", json={"name": name, "schema": schema, **settings},
                                 headers=actor.headers).json()["id"])
    if not items:
        return project_id
    body = b"".join(orjson.dumps(item) + b"\n" for item in items)
    job = client.post(f"/api/v1/projects/{project_id}/imports", params={"filename": "items.jsonl"}, content=body,
                      headers=actor.headers)
    assert job.status_code == 202, job.text
    runner.run_until_idle()
    return project_id


def api_annotate(client: Any, actor: Actor, project_id: str, answers_by_external_id: dict[str, dict[str, Any]]) -> None:
    """Submit `actor`'s answers for the items named by external id."""
    cursor: str | None = None
    ids: dict[str, str] = {}
    while True:
        page = client.get(f"/api/v1/projects/{project_id}/items", params={"limit": 500, **(
            {"cursor": cursor} if cursor else {})}, headers=actor.headers).json()
        ids.update({i["external_id"]: i["id"] for i in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            break
    for external_id, answers in answers_by_external_id.items():
        saved = client.post(f"/api/v1/items/{ids[external_id]}/annotations", json={"answers": answers},
                            headers=actor.headers)
        assert saved.status_code in (200, 201), saved.text


def api_export(client: Any, actor: Actor, project_id: str, runner: Any, fmt: str, **options: Any) -> Any:
    """Run an export job to its end; returns (job, file content)."""
    started = client.post(f"/api/v1/projects/{project_id}/exports", json={"format": fmt, **options},
                          headers=actor.headers)
    assert started.status_code == 202, started.text
    runner.run_until_idle()
    job = client.get(f"/api/v1/jobs/{started.json()['id']}", headers=actor.headers).json()
    assert job["state"] == "succeeded", job
    download = client.get(f"/api/v1/exports/{job['id']}/file", headers=actor.headers)
    assert download.status_code == 200, download.text
    return job, download.content


# -- formats: schemas covering every question type, fixed records, a comparable rendering of any export ------

_LABELS = [{"value": "PER"}, {"value": "ORG"}, {"value": "LOC"}]
_SCALE = [{"value": 1}, {"value": 2}, {"value": 3}, {"value": 4}, {"value": 5}]
SPANS_SCHEMA: dict[str, Any] = {
    "fields": [{"name": "text", "kind": "text"}],
    "questions": [
        {"name": "sentiment", "type": "single_choice", "required": False,
         "options": [{"value": "positive"}, {"value": "negative"}]},
        {"name": "topics", "type": "multiple_choice", "required": False,
         "options": [{"value": "sport"}, {"value": "politics"}]},
        {"name": "entities", "type": "spans", "field": "text", "required": False, "labels": _LABELS},
        {"name": "quality", "type": "rating", "required": False, "scale": _SCALE},
    ],
}
BOXES_SCHEMA: dict[str, Any] = {
    "fields": [{"name": "image", "kind": "image"}],
    "questions": [{"name": "objects", "type": "boxes", "field": "image", "required": False,
                   "labels": [{"value": "cat"}, {"value": "dog"}]}],
}
PREFERENCE_SCHEMA: dict[str, Any] = {
    "fields": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
    "questions": [
        {"name": "preference", "type": "pairwise", "field": "responses", "required": False},
        {"name": "order", "type": "ranking", "field": "responses", "required": False},
    ],
}
WRITING_SCHEMA: dict[str, Any] = {
    "fields": [{"name": "prompt", "kind": "text"}, {"name": "response", "kind": "text"}],
    "questions": [
        {"name": "answer", "type": "free_text", "required": False},
        {"name": "grades", "type": "rubric", "required": False, "criteria": [
            {"name": "helpful", "scale": _SCALE}, {"name": "honest", "scale": _SCALE}]},
    ],
}


def _annotation(n: int, answers: dict[str, Any], status: str = "submitted") -> dict[str, Any]:
    return {"id": f"ann-{n}", "author_id": f"user-{n % 2}", "author": f"annotator{n % 2}@example.test",
            "schema_version": 1, "status": status, "answers": answers, "time_spent_ms": 1500 * n,
            "created_at": "2026-01-02T03:04:05.000000Z", "updated_at": "2026-01-02T03:04:05.000000Z",
            "submitted_at": "2026-01-02T03:04:05.000000Z"}


def _record(n: int, data: dict[str, Any], annotations: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": f"item-{n}", "external_id": f"ext-{n}", "data": data, "metadata": extra.pop("metadata", {}),
            "overlap": None, "priority": 0, "state": "completed" if annotations else "new",
            "created_at": "2026-01-01T00:00:00.000000Z", "annotations": annotations, **extra}


def sample_records(kind: str) -> list[dict[str, Any]]:
    """Fixed export records for `kind` (spans, boxes, preference, writing): the golden files' input."""
    if kind == "spans":
        return [
            _record(1, {"text": "Ada Lovelace met Charles Babbage in London."}, [
                _annotation(1, {"sentiment": "positive", "topics": ["politics"], "quality": 4, "entities": [
                    {"start": 0, "end": 12, "label": "PER"}, {"start": 17, "end": 32, "label": "PER"},
                    {"start": 36, "end": 42, "label": "LOC"}]}),
                _annotation(2, {"sentiment": "negative", "entities": [{"start": 0, "end": 3, "label": "PER"}]})],
                predictions=[{"model_name": "ner-small", "model_version": "3", "score": 0.8,
                              "answers": {"entities": [{"start": 36, "end": 42, "label": "LOC"}]}}]),
            _record(2, {"text": "=SUM(A1) @home +1 -2"}, [_annotation(3, {"sentiment": "negative"})],
                    predictions=[]),
            _record(3, {"text": "Nothing here."}, [], predictions=[]),
        ]
    if kind == "boxes":
        return [
            _record(1, {"image": "photos/one.png"}, [_annotation(1, {"objects": [
                {"x": 0.1, "y": 0.2, "width": 0.3, "height": 0.4, "label": "cat"},
                {"x": 0.5, "y": 0.5, "width": 0.25, "height": 0.5, "label": "dog"}]})],
                metadata={"width": 640, "height": 480}),
            _record(2, {"image": "photos/two.jpg"}, [], metadata={"width": 100, "height": 200}),
        ]
    if kind == "preference":
        responses = ["Paris is the capital.", "Lyon is the capital.", "It is Paris, on the Seine."]
        return [
            _record(1, {"prompt": "What is the capital of France?", "responses": responses}, [
                _annotation(1, {"preference": {"choice": "a"}, "order": [2, 0, 1]}),
                _annotation(2, {"preference": {"choice": "tie"}, "order": [0, 2, 1]})]),
            _record(2, {"prompt": "Say hi.", "responses": ["hi", "bye"]}, [
                _annotation(3, {"preference": {"choice": "b"}, "order": [1, 0]})]),
        ]
    if kind == "writing":
        return [
            _record(1, {"prompt": "Write a haiku about rain.", "response": "Rain on the tin roof"}, [
                _annotation(1, {"answer": "Soft rain on the roof\nthe garden drinks it slowly\nnight smells wet",
                                "grades": {"helpful": {"score": 4, "comment": "nice"}, "honest": {"score": 5}}})]),
            _record(2, {"prompt": "Write a haiku about rain.", "response": "It is sunny."}, [
                _annotation(2, {"answer": "Grey sky, falling drops", "grades": {
                    "helpful": {"score": 1}, "honest": {"score": 2}}})]),
        ]
    raise ValueError(kind)


def render_export(name: str, content: bytes) -> bytes:
    """An export's bytes, or for binary formats a text rendering of what they hold (for golden files)."""
    if name == "hf_parquet":
        import io

        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(content))
        return orjson.dumps({"schema": str(table.schema).splitlines(), "rows": table.to_pylist()},
                            option=orjson.OPT_INDENT_2) + b"\n"
    if name in ("yolo", "voc"):
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return b"".join(b"== " + n.encode() + b"\n" + archive.read(n) for n in sorted(archive.namelist()))
    if name == "spacy_docbin":
        import spacy
        from spacy.tokens import DocBin

        docs = DocBin().from_bytes(content).get_docs(spacy.blank("xx").vocab)
        return orjson.dumps([{"text": d.text, "tokens": [t.text for t in d],
                              "ents": [[e.start_char, e.end_char, e.label_] for e in d.ents],
                              "spans": [[s.start_char, s.end_char, s.label_] for s in d.spans.get("sc", [])],
                              "user_data": {str(k): v for k, v in d.user_data.items()}} for d in docs],
                            option=orjson.OPT_INDENT_2) + b"\n"
    return content


# ---- vendors and routing (tests of the workforce domain and of the security suite) ----

VENDOR_SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "text", "kind": "text", "redact": True},
        {"name": "notes", "kind": "text", "required": False, "visible_to": "in_house"},
    ],
    "questions": [
        {"name": "sentiment", "type": "single_choice", "options": [{"value": "pos"}, {"value": "neg"}]},
        {"name": "entities", "type": "spans", "field": "text", "required": False, "labels": [{"value": "PER"}]},
    ],
    "vendor_metadata": ["lang"],
}


def vendor_items() -> list[dict[str, Any]]:
    rows = []
    for n in range(6):
        lang = ("de", "en", "fr")[n % 3]
        rows.append({"external_id": f"{lang}{n}", "metadata": {"lang": lang, "customer": f"c{n}"},
                     "data": {"text": f"Mail ann{n}@example.com now", "notes": f"internal {n}"}})
    return rows


def api_vendor(client: Any, owner: Actor, name: str) -> str:
    made = client.post("/api/v1/vendors", json={"name": name}, headers=owner.headers)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def api_route(client: Any, owner: Actor, project_id: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    answer = client.put(f"/api/v1/projects/{project_id}/routing", json={"rules": rules}, headers=owner.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def api_item_ids(client: Any, actor: Actor, project_id: str) -> dict[str, str]:
    page = client.get(f"/api/v1/projects/{project_id}/items", params={"limit": 500}, headers=actor.headers)
    assert page.status_code == 200, page.text
    return {i["external_id"]: i["id"] for i in page.json()["items"]}


def api_drain(client: Any, actor: Actor, project_id: str) -> list[str]:
    """Every external id the actor receives, submitting each."""
    got: list[str] = []
    for _ in range(50):
        answer = client.post(f"/api/v1/projects/{project_id}/next", headers=actor.headers)
        if answer.status_code == 204:
            return got
        assert answer.status_code == 200, answer.text
        item = answer.json()["item"]
        got.append(item["external_id"])
        saved = client.post(f"/api/v1/items/{item['id']}/annotations", json={"answers": {"sentiment": "pos"}},
                            headers=actor.headers)
        assert saved.status_code == 201, saved.text
    raise AssertionError("the queue never ended")


def another_instance(engine: Engine, directory: Path) -> tuple[sessionmaker[Session], Any]:
    """The session factory and media store of another instance on `engine`, with key-encryption keys of its
    own under `directory` (content and media are sealed again with them, as a restore there does)."""
    cipher = EnvelopeCipher(Envelope(LocalKeyProvider(directory / "keys")))
    factory = bind_cipher(session_factory(engine), cipher)
    return factory, SealedBlobStore(LocalBlobStore(directory / "media"), factory, overhead=cipher.overhead)
