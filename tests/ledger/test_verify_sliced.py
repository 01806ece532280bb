"""The fast pass cut into slices walked by worker processes proves what the single walk proves, checkpoints
inside slices and on their edges included, and refuses every damage the single walk refuses."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from labelvault.db.engine import transaction
from labelvault.ledger import service
from labelvault.ledger.service import Access
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.verify import fast_verify, verify
from labelvault.ledger.writer import LedgerWriter, Sealer

# Checkpoints inside slices of 8 (3, 13, 30), on slice edges (8, 16) and at the end (37, a partial slice).
BATCHES = (3, 5, 5, 3, 14, 7)
SLICE = 8


@pytest.fixture
def chained(factory, owner, tmp_path):
    sealer = Sealer(factory, tmp_path, every=1, max_age_seconds=0, poll_seconds=1)
    writer = LedgerWriter(factory)
    done = 0
    for size in BATCHES:
        writer.write([service.entry_for(None, owner.organization_id,
                                        Access("read", "GET /x", "p", [f"item-{done + i}"], ["text"], {"n": i}),
                                        actor_user_id=owner.user_id) for i in range(size)])
        assert sealer.run_once() == size
        done += size
    return load_or_create_signer(tmp_path).public_hex


def _sliced(factory, key, slice_entries=SLICE):
    with transaction(factory, write=False) as session:
        return fast_verify(session, key, workers=2, slice_entries=slice_entries)


def test_slices_prove_the_ledger_with_every_checkpoint(factory, chained):
    report = _sliced(factory, chained)
    assert report is not None, "the sliced walk refused an intact ledger"
    assert (report.entries, report.checkpoints, report.slices) == (sum(BATCHES), len(BATCHES), 5)
    with transaction(factory, write=False) as session:
        single = fast_verify(session, chained, workers=1)
    assert single is not None and single.slices == 1 and single.entries == report.entries


@pytest.mark.parametrize("slice_entries", [1, 2, 4, 16, 32])
def test_any_power_of_two_slice_proves_it(factory, chained, slice_entries):
    report = _sliced(factory, chained, slice_entries)
    assert report is not None and report.entries == sum(BATCHES)


def test_a_slice_that_is_not_a_power_of_two_is_refused(factory, chained):
    with pytest.raises(ValueError, match="power of two"):
        _sliced(factory, chained, 6)


@pytest.mark.parametrize("damage", [
    "UPDATE ledger_entries SET actor_email = 'x' WHERE position = 2",    # first slice
    "UPDATE ledger_entries SET route = 'GET /y' WHERE position = 17",    # first entry of a slice
    "UPDATE ledger_entries SET detail = '{}' WHERE position = 16",       # last entry of a slice, on a checkpoint
    "UPDATE ledger_entries SET kind = 'export' WHERE position = 37",     # last entry of the chain
    "DELETE FROM ledger_entries WHERE position = 9",
    "DELETE FROM ledger_entries WHERE position = 24",
    "DELETE FROM ledger_entries WHERE position > 33",
    "UPDATE ledger_entries SET position = position + 1 WHERE position = 37",
    "UPDATE ledger_checkpoints SET root_hash = '00' WHERE size = 13",
    "UPDATE ledger_checkpoints SET root_hash = '00' WHERE size = 16",
])
def test_slices_refuse_damage_and_verify_reports_it(factory, chained, damage):
    with transaction(factory) as session:
        session.execute(text(damage))
    assert _sliced(factory, chained) is None
    with transaction(factory, write=False) as session:
        assert not verify(session, chained).ok


def test_a_rechained_tail_fails_the_roots_signed_before(factory, chained):
    # Without the signing key, an attacker changes entry 20 and re-chains everything after it: every hash
    # checks out, so only the Merkle roots signed at 30 and 37 can tell.
    with transaction(factory) as session:
        session.execute(text("UPDATE ledger_entries SET route = 'GET /y' WHERE position = 20"))
        session.execute(text("UPDATE ledger_entries SET position = NULL, entry_hash = NULL WHERE position >= 17"))
        service.seal(session)
    assert _sliced(factory, chained) is None
    with transaction(factory, write=False) as session:
        problems = verify(session, chained).problems
    assert any("checkpoint at size 30" in p for p in problems), problems
