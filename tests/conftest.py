"""Shared fixtures: one migrated database per test worker (SQLite or PostgreSQL), wiped after each test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from labelvault.accounts.models import Role
from labelvault.api.context import AppContext
from labelvault.app import build_context, create_app
from labelvault.config import Settings
from labelvault.crypto.content import ContentCipher, EnvelopeCipher, bind_cipher
from labelvault.crypto.keys import LocalKeyProvider
from labelvault.crypto.service import Envelope
from labelvault.db.engine import build_engine, session_factory
from labelvault.db.migrate import upgrade
from labelvault.testing import DEFAULT_PG_ADMIN_URL, Actor, fresh_database, make_actor, wipe


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default=os.environ.get("LABELVAULT_TEST_DATABASE", "sqlite"),
                     choices=["sqlite", "postgresql"], help="Database the tests run against.")
    parser.addoption("--pg-admin-url", default=os.environ.get("LABELVAULT_TEST_PG_URL", DEFAULT_PG_ADMIN_URL),
                     help="PostgreSQL URL used to create and drop the test databases.")


@pytest.fixture(scope="session")
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def pg_admin_url(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--pg-admin-url"))


@pytest.fixture(scope="session")
def database_url(db_kind: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(db_kind, tmp_path_factory.mktemp("db"), pg_admin_url) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = build_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def content(tmp_path_factory: pytest.TempPathFactory) -> ContentCipher:
    """The content cipher of every test's sessions and apps (one key directory, so all of them read each other's
    content)."""
    return EnvelopeCipher(Envelope(LocalKeyProvider(tmp_path_factory.mktemp("keys"))))


@pytest.fixture(scope="session")
def factory(engine: Engine, content: ContentCipher) -> sessionmaker[Session]:
    return bind_cipher(session_factory(engine), content)


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """The one autouse fixture: every test starts from empty tables."""
    yield
    if "engine" in request.fixturenames:
        wipe(request.getfixturevalue("engine"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, run_jobs=False,
                    import_batch_size=50, warm_up=False)


@pytest.fixture
def ctx(settings: Settings, engine: Engine, content: ContentCipher) -> AppContext:
    context = build_context(settings, content=content)
    context.engine.dispose()
    context.engine = engine
    context.factory = bind_cipher(session_factory(engine), content)
    context.media.factory = context.factory  # type: ignore[attr-defined]
    context.runner.factory = context.factory
    context.ledger.factory = context.factory
    context.sealer.factory = context.factory
    return context


@pytest.fixture
def client(settings: Settings, ctx: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(settings, context=ctx)) as test_client:
        yield test_client


@pytest.fixture
def owner(factory: sessionmaker[Session]) -> Actor:
    return make_actor(factory, Role.owner)


@pytest.fixture
def member_of(factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """member_of(actor, role, vendor_id=None) -> a new member of actor's organization (working for the vendor)."""

    def make(actor: Actor, role: Role, vendor_id: str | None = None) -> Actor:
        return make_actor(factory, role, organization_id=actor.organization_id, vendor_id=vendor_id)

    return make
