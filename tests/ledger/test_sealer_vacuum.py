"""The sealer vacuums the chain's table once it has sealed enough since its last vacuum (PostgreSQL keeps each
sealed entry's first version until then); verification still proves the vacuumed chain."""

from __future__ import annotations

from sqlalchemy import text

from labelvault.db.engine import transaction
from labelvault.ledger import repository, service
from labelvault.ledger.service import Access
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.verify import verify
from labelvault.ledger.writer import LedgerWriter, Sealer


def _write(factory, owner, count):
    LedgerWriter(factory).write([service.entry_for(None, owner.organization_id,
                                                   Access("read", "GET /x", "p", [f"item-{n}"], ["text"]),
                                                   actor_user_id=owner.user_id) for n in range(count)])


def _vacuums(engine):
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
        return connection.execute(text("SELECT vacuum_count FROM pg_stat_user_tables "
                                       "WHERE relname = 'ledger_entries'")).scalar()


def test_the_sealer_vacuums_when_a_share_of_the_chain_was_sealed(factory, owner, tmp_path, engine, monkeypatch):
    monkeypatch.setattr(service, "VACUUM_MIN", 10)
    monkeypatch.setattr(service, "VACUUM_SHARE", 0.5)
    calls = []
    real = repository.vacuum
    monkeypatch.setattr(repository, "vacuum", lambda bound: calls.append(bound) or real(bound))
    sealer = Sealer(factory, tmp_path, every=1, max_age_seconds=0, poll_seconds=1)
    before = _vacuums(engine)
    _write(factory, owner, 9)
    assert sealer.run_once() == 9
    assert calls == []  # 9 sealed: fewer than VACUUM_MIN
    _write(factory, owner, 6)
    assert sealer.run_once() == 6
    assert len(calls) == 1  # 15 since the start, at least half of the chain of 15
    _write(factory, owner, 12)
    assert sealer.run_once() == 12
    # On PostgreSQL the counter started again at the vacuum: 12 sealed since, fewer than half of 27. SQLite has
    # nothing to vacuum, so its count goes on (27) and the call is made again, doing nothing.
    postgresql = engine.dialect.name == "postgresql"
    assert len(calls) == (1 if postgresql else 2)
    if postgresql:
        assert _vacuums(engine) == before + 1
    assert sealer.run_once() == 0
    assert len(calls) == (1 if postgresql else 2)  # nothing sealed: no vacuum however much is due
    with transaction(factory, write=False) as session:
        report = verify(session, load_or_create_signer(tmp_path).public_hex)
    assert report.ok and report.entries == 27 and report.method == "fast"
