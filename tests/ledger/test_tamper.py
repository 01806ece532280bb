"""`ledger verify` finds every kind of tampering, on the real database, and says where."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from labelvault.db.engine import transaction
from labelvault.ledger import service
from labelvault.ledger.service import Access
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.verify import verify
from labelvault.ledger.writer import LedgerWriter, Sealer


@pytest.fixture
def sealed(factory, owner, tmp_path):
    """20 entries chained, a checkpoint at 12 and one at 20; returns (sealer, public key)."""
    sealer = Sealer(factory, tmp_path, every=1, max_age_seconds=0, poll_seconds=1)
    writer = LedgerWriter(factory)
    for batch in (range(12), range(12, 20)):
        writer.write([service.entry_for(None, owner.organization_id,
                                        Access("read", "GET /x", "p", [f"item-{i}"], ["text"]),
                                        actor_user_id=owner.user_id) for i in batch])
        assert sealer.run_once() == len(batch)
    return sealer, load_or_create_signer(tmp_path).public_hex


def _verify(factory, key):
    with transaction(factory, write=False) as session:
        return verify(session, key)


def _sql(factory, statement, **params):
    with transaction(factory) as session:
        session.execute(text(statement), params)


def _id_at(factory, position):
    with transaction(factory, write=False) as session:
        return session.execute(text("SELECT id FROM ledger_entries WHERE position = :p"), {"p": position}).scalar()


def test_an_untouched_ledger_verifies(factory, sealed):
    report = _verify(factory, sealed[1])
    assert report.ok, report.problems
    assert (report.entries, report.checkpoints, report.unsealed) == (20, 2, 0)


def test_a_modified_entry_is_found_at_its_position(factory, sealed):
    _sql(factory, "UPDATE ledger_entries SET actor_email = 'someone@else' WHERE position = 7")
    problems = _verify(factory, sealed[1]).problems
    assert any("position 7 " in p for p in problems), problems


def test_a_modified_entry_with_recomputed_chain_fails_the_signed_root(factory, sealed):
    _sql(factory, "UPDATE ledger_entries SET route = 'GET /y' WHERE position = 15")
    # An attacker without the signing key re-chains everything after the change.
    with transaction(factory) as session:
        session.execute(text("UPDATE ledger_entries SET position = NULL, entry_hash = NULL WHERE position >= 13"))
        service.seal(session)
    problems = _verify(factory, sealed[1]).problems
    assert any("checkpoint at size 20" in p and "13..20" in p for p in problems), problems


def test_a_deleted_entry_is_found(factory, sealed):
    _sql(factory, "DELETE FROM ledger_entries WHERE position = 4")
    problems = _verify(factory, sealed[1]).problems
    assert any("positions 4..4 are missing" in p for p in problems), problems


def test_an_inserted_entry_is_found(factory, sealed, owner):
    _sql(factory, "UPDATE ledger_entries SET position = position + 1000 WHERE position >= 10")
    _sql(factory, "UPDATE ledger_entries SET position = position - 999 WHERE position >= 1010")
    with transaction(factory) as session:
        service.record(session, [service.entry_for(None, owner.organization_id, Access("read", "GET /x"))])
    entry = _id_at(factory, 11)
    _sql(factory, "UPDATE ledger_entries SET position = 10, entry_hash = (SELECT entry_hash FROM ledger_entries "
                  "WHERE position = 11) WHERE position IS NULL")
    problems = _verify(factory, sealed[1]).problems
    assert any("position 10 " in p for p in problems), problems
    assert entry is not None


def test_reordered_entries_are_found(factory, sealed):
    first, second = _id_at(factory, 5), _id_at(factory, 6)
    _sql(factory, "UPDATE ledger_entries SET position = -6 WHERE id = :i", i=second)
    _sql(factory, "UPDATE ledger_entries SET position = 6 WHERE id = :i", i=first)
    _sql(factory, "UPDATE ledger_entries SET position = 5 WHERE id = :i", i=second)
    problems = _verify(factory, sealed[1]).problems
    assert any("position 5 " in p for p in problems), problems


def test_truncation_after_a_checkpoint_is_found(factory, sealed):
    _sql(factory, "DELETE FROM ledger_entries WHERE position > 16")
    problems = _verify(factory, sealed[1]).problems
    assert any("truncated" in p and "position 16" in p and "size 20" in p for p in problems), problems


def test_a_forged_checkpoint_signature_is_found(factory, sealed, tmp_path):
    _sql(factory, "UPDATE ledger_checkpoints SET root_hash = :r WHERE size = 12", r="00" * 32)
    problems = _verify(factory, sealed[1]).problems
    assert any("checkpoint at size 12: signature" in p for p in problems), problems
    assert not _verify(factory, load_or_create_signer(tmp_path / "other").public_hex).ok


def test_unsealed_entries_are_counted_and_chained_by_the_next_round(factory, sealed, owner):
    with transaction(factory) as session:
        service.record(session, [service.entry_for(None, owner.organization_id, Access("read", "GET /x"))])
    assert _verify(factory, sealed[1]).unsealed == 1
    assert sealed[0].run_once() == 1
    report = _verify(factory, sealed[1])
    assert report.ok and report.entries == 21 and report.checkpoints == 3
