"""Envelope encryption: binding to the row, key rotation without downtime, crypto-shred (raw bytes checked)."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import text

from labelvault.crypto.keys import KeyUnavailable, LocalKeyProvider
from labelvault.crypto.service import ContentDamaged, ContentDestroyed, Envelope, FieldScope
from labelvault.db.engine import transaction
from labelvault.testing import TEXT_SCHEMA, sqlite_file_bytes


@pytest.fixture
def project(client, owner):
    made = client.post("/api/v1/projects", json={"name": "P", "schema": TEXT_SCHEMA}, headers=owner.headers).json()
    return owner.organization_id, made["id"]


def _scope(project, item="item-1", field="text"):
    return FieldScope(project[0], project[1], item, field)


def test_round_trip_and_the_kek_file_is_private(factory, project, tmp_path):
    envelope = Envelope(LocalKeyProvider(tmp_path / "keys"))
    with transaction(factory) as session:
        sealed = envelope.encrypt(session, _scope(project), b"Ada Lovelace")
    assert b"Ada" not in sealed
    with transaction(factory) as session:
        assert Envelope(LocalKeyProvider(tmp_path / "keys")).decrypt(session, _scope(project), sealed) == \
            b"Ada Lovelace"
    (kek,) = (tmp_path / "keys").glob("kek-*.key")
    assert kek.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("moved", [{"item": "item-2"}, {"field": "title"}])
def test_a_ciphertext_moved_to_another_row_or_field_does_not_open(factory, project, tmp_path, moved):
    envelope = Envelope(LocalKeyProvider(tmp_path))
    with transaction(factory) as session:
        sealed = envelope.encrypt(session, _scope(project), b"secret")
        with pytest.raises(ContentDamaged):
            envelope.decrypt(session, _scope(project, **moved), sealed)
        altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
        with pytest.raises(ContentDamaged):
            envelope.decrypt(session, _scope(project), altered)


def test_a_ciphertext_moved_to_another_project_does_not_open(client, owner, factory, project, tmp_path):
    other = client.post("/api/v1/projects", json={"name": "Q", "schema": TEXT_SCHEMA}, headers=owner.headers).json()
    envelope = Envelope(LocalKeyProvider(tmp_path))
    with transaction(factory) as session:
        sealed = envelope.encrypt(session, _scope(project), b"secret")
        envelope.encrypt(session, _scope((owner.organization_id, other["id"])), b"x")
        with pytest.raises(ContentDamaged):
            envelope.decrypt(session, _scope((owner.organization_id, other["id"])), sealed)


def test_kek_rotation_rewraps_while_content_stays_readable(factory, project, tmp_path):
    provider = LocalKeyProvider(tmp_path)
    envelope = Envelope(provider, cache_seconds=0)
    with transaction(factory) as session:
        old = [envelope.encrypt(session, _scope(project, f"i{n}"), f"v{n}".encode()) for n in range(3)]
        envelope.rotate_data_key(session, *project)
        new = envelope.encrypt(session, _scope(project, "i9"), b"v9")
    first_kek = provider.current_kek()
    provider.add_kek()
    with transaction(factory) as session:  # readers before the re-wrap still work
        assert envelope.decrypt(session, _scope(project, "i1"), old[1]) == b"v1"
    with transaction(factory) as session:
        assert envelope.rewrap(session, batch=1) == 1
    with transaction(factory) as session:  # half re-wrapped: still readable
        assert envelope.decrypt(session, _scope(project, "i9"), new) == b"v9"
        assert envelope.decrypt(session, _scope(project, "i0"), old[0]) == b"v0"
    with transaction(factory) as session:
        assert envelope.rewrap(session) == 1
        assert envelope.rewrap(session) == 0
    provider.remove_kek(first_kek)
    with transaction(factory) as session:
        fresh = Envelope(LocalKeyProvider(tmp_path))
        assert [fresh.decrypt(session, _scope(project, f"i{n}"), old[n]) for n in range(3)] == [b"v0", b"v1", b"v2"]
        assert fresh.decrypt(session, _scope(project, "i9"), new) == b"v9"
        assert new[3:7] != old[0][3:7]  # the new content names the newer data key version


def test_a_kek_from_another_instance_cannot_unwrap(factory, project, tmp_path):
    with transaction(factory) as session:
        sealed = Envelope(LocalKeyProvider(tmp_path / "a")).encrypt(session, _scope(project), b"secret")
    stranger = LocalKeyProvider(tmp_path / "b")
    stranger.add_kek()
    with transaction(factory) as session, pytest.raises(KeyUnavailable):
        Envelope(stranger).decrypt(session, _scope(project), sealed)


def test_crypto_shred_makes_content_unrecoverable_in_the_database_and_files(factory, engine, project, tmp_path):
    plaintext = f"canary-{secrets.token_hex(8)}".encode()
    envelope = Envelope(LocalKeyProvider(tmp_path / "keys"))
    with transaction(factory) as session:
        sealed = envelope.encrypt(session, _scope(project), plaintext)
        wrapped = session.execute(text("SELECT wrapped_key FROM project_data_keys WHERE project_id = :p"),
                                  {"p": project[1]}).scalar_one()
    stored = tmp_path / "blob.bin"
    stored.write_bytes(sealed)
    if engine.dialect.name == "sqlite":
        assert wrapped in _raw_sqlite(engine)  # the check below can see a key that is there
    with transaction(factory) as session:
        assert envelope.shred(session, *project) == 1
    with transaction(factory) as session, pytest.raises(ContentDestroyed):
        Envelope(LocalKeyProvider(tmp_path / "keys")).decrypt(session, _scope(project), stored.read_bytes())
    with transaction(factory) as session:
        left = session.execute(text("SELECT count(*) FROM project_data_keys WHERE project_id = :p"),
                               {"p": project[1]}).scalar_one()
    assert left == 0
    assert plaintext not in stored.read_bytes()
    if engine.dialect.name == "sqlite":
        raw = _raw_sqlite(engine)
        assert wrapped not in raw and plaintext not in raw


def _raw_sqlite(engine) -> bytes:
    """Every byte of the database file and its WAL, after moving the WAL's pages into the file."""
    return sqlite_file_bytes(engine)
