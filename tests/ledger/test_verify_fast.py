"""The fast verification pass (rows rendered as canonical JSON by the database) agrees with the sealer's hashing
for every kind of text, and leaves each damaged ledger to the exact walk."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from labelvault.db.engine import transaction
from labelvault.ledger import repository, service
from labelvault.ledger.models import LedgerEntry
from labelvault.ledger.service import Access
from labelvault.ledger.signing import load_or_create_signer
from labelvault.ledger.verify import exact_verify, fast_verify, verify
from labelvault.ledger.writer import LedgerWriter, Sealer

ODD_TEXTS = [
    'quote " and backslash \\ and slash /',
    "controls \x01\x08\t\n\x0b\x0c\r\x1f and delete \x7f",
    "accents é ü ß, CJK 漢字, emoji 🦊, separators \u2028\u2029, BOM \ufeff",
    "<script>&amp;</script>",
    "",
]


@pytest.fixture
def odd_ledger(factory, owner, tmp_path):
    sealer = Sealer(factory, tmp_path, every=1, max_age_seconds=0, poll_seconds=1)
    writer = LedgerWriter(factory)
    entries = []
    for n, odd in enumerate(ODD_TEXTS):
        # Id columns hold 36 characters: odd text goes to the text columns, and None to an id column.
        access = Access("read", f"GET /x/{odd}", None, [f"item-{odd}"], [odd], {"note": odd, "n": n})
        entries.append(service.entry_for(None, owner.organization_id, access, actor_user_id=owner.user_id,
                                         actor_email=odd))
    writer.write(entries[:3])
    assert sealer.run_once() == 3
    writer.write(entries[3:])
    assert sealer.run_once() == len(ODD_TEXTS) - 3
    return load_or_create_signer(tmp_path).public_hex


def test_the_fast_pass_alone_proves_a_ledger_of_odd_text(factory, odd_ledger):
    with transaction(factory, write=False) as session:
        fast = fast_verify(session, odd_ledger)
        exact = exact_verify(session, odd_ledger)
    assert exact.ok, exact.problems
    assert fast is not None, "the database's rendering differs from the sealer's for some text"
    assert (fast.entries, fast.checkpoints, fast.unsealed) == (exact.entries, exact.checkpoints, exact.unsealed)
    assert (fast.entries, fast.checkpoints) == (len(ODD_TEXTS), 2)


@pytest.mark.parametrize("damage", [
    "UPDATE ledger_entries SET actor_email = 'x' WHERE position = 2",
    "DELETE FROM ledger_entries WHERE position = 5",
    "DELETE FROM ledger_entries WHERE position = 1",
    "UPDATE ledger_checkpoints SET root_hash = '00' WHERE size = 3",
])
def test_the_fast_pass_refuses_damage_and_verify_reports_it(factory, odd_ledger, damage):
    with transaction(factory) as session:
        session.execute(text(damage))
    with transaction(factory, write=False) as session:
        assert fast_verify(session, odd_ledger) is None
        assert not verify(session, odd_ledger).ok


def test_damage_found_mid_stream_leaves_the_transaction_to_the_exact_walk(factory, owner, tmp_path):
    # Large entries, read one at a time: the fast pass stops at entry 2 while the database is still sending
    # (several megabytes), which cancels the statement; the exact walk then runs in the same transaction.
    sealer = Sealer(factory, tmp_path, every=1, max_age_seconds=0, poll_seconds=1)
    bulky = "x" * 2_000_000
    LedgerWriter(factory).write([service.entry_for(None, owner.organization_id,
                                                   Access("read", "GET /x", None, [f"item-{n}"], ["text"],
                                                          {"bulk": bulky}), actor_user_id=owner.user_id)
                                 for n in range(8)])
    assert sealer.run_once() == 8
    key = load_or_create_signer(tmp_path).public_hex
    with transaction(factory) as session:
        session.execute(text("UPDATE ledger_entries SET actor_email = 'x' WHERE position = 2"))
    with transaction(factory, write=False) as session:
        assert fast_verify(session, key, chunk_rows=1) is None
        report = verify(session, key)
    assert report.method == "exact" and report.entries == 8
    assert any("position 2 " in p for p in report.problems), report.problems


def test_a_large_batch_keeps_every_odd_text_and_verifies(factory, owner, tmp_path):
    # From repository.COPY_ROWS rows on, PostgreSQL appends by COPY: its escaping must keep every value as is.
    count = repository.COPY_ROWS + 20
    entries = []
    for n in range(count):
        odd = ODD_TEXTS[n % len(ODD_TEXTS)]
        access = Access("read", f"GET /x/{odd}", None, [f"item-{odd}"], [odd], {"note": odd, "n": n})
        entries.append(service.entry_for(None, owner.organization_id, access, actor_email=odd))
    with transaction(factory) as session:
        service.append_many(session, entries)
    sealer = Sealer(factory, tmp_path, every=1, max_age_seconds=0, poll_seconds=1)
    assert sealer.run_once() == count
    key = load_or_create_signer(tmp_path).public_hex
    with transaction(factory, write=False) as session:
        stored = {row.id: row for row in session.scalars(select(LedgerEntry))}
        fast = fast_verify(session, key)
        exact = exact_verify(session, key)
    assert {entry["id"]: tuple(entry[name] for name in service.ROW_COLUMNS) for entry in entries} == {
        entry_id: tuple(getattr(row, name) for name in service.ROW_COLUMNS) for entry_id, row in stored.items()}
    assert exact.ok, exact.problems
    assert fast is not None and fast.entries == count
