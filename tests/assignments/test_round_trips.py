"""The labeling loop's round trips to PostgreSQL: each one costs both sides a wake-up and a system call, on every
annotation of every annotator. Reads that need not wait for each other go together (`Direct.ahead`), writes
nobody reads go with the COMMIT (`Direct.later`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import pq
from tests.assignments.test_distribution_api import POSITIVE, _next, _project, _submit

from labelvault.accounts.models import Role
from labelvault.db import direct
from labelvault.kit.hashing import token_digest
from labelvault.testing import make_actor


@pytest.fixture(autouse=True)
def _postgresql_only(engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name != "postgresql":
        pytest.skip("round trips to a server")


class RoundTrips:
    def __init__(self) -> None:
        self.count = 0
        self.statements = 0  # sent by Direct (the credential, the reads and writes of the loop)


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    """Counts what goes to PostgreSQL and waits for its answer: a Direct round trip, a statement on a cursor,
    a COMMIT or ROLLBACK of the driver's own."""
    seen = RoundTrips()

    def counted(original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            seen.count += 1
            return original(*args, **kwargs)
        return call

    def ended(original: Any) -> Any:  # (the driver sends nothing when no transaction is open)
        def call(connection: psycopg.Connection[Any]) -> Any:
            if connection.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                seen.count += 1
            return original(connection)
        return call

    send = direct._send

    def sent(connection: Any, state: Any, sends: list[Any], commit: bool = False) -> Any:
        seen.count += 1
        seen.statements += len(sends)
        return send(connection, state, sends, commit)

    monkeypatch.setattr(direct, "_send", sent)
    for name in ("execute", "executemany", "copy", "stream"):
        monkeypatch.setattr(direct.PendingFirstCursor, name, counted(getattr(direct.PendingFirstCursor, name)))
    for name in ("commit", "rollback"):
        monkeypatch.setattr(psycopg.Connection, name, ended(getattr(psycopg.Connection, name)))
    yield seen


def test_next_item_and_submit_take_three_round_trips_each(client, ctx, owner, member_of,
                                                           round_trips: RoundTrips) -> None:
    project = _project(client, ctx, owner, n=6)
    annotator = member_of(owner, Role.annotator)
    for _ in range(2):  # statements prepared, token use recorded, the quality refresh requested
        item = _next(client, annotator, project).json()["item"]
        assert _submit(client, annotator, item["id"]).status_code == 201
    ctx.runner.run_until_idle()

    round_trips.count = round_trips.statements = 0
    claimed = _next(client, annotator, project)
    assert claimed.status_code == 200
    # BEGIN, the credential, the project with the person's standing in it, and their leases; the claim; the
    # lease, the ledger entry and COMMIT.
    assert (round_trips.count, round_trips.statements) == (3, 6)

    round_trips.count = round_trips.statements = 0
    assert _submit(client, annotator, claimed.json()["item"]["id"], POSITIVE).status_code == 201
    # BEGIN, the credential, and the item with its project and whether the person has an annotation of it; the
    # lease; the count, the gold cursor and the quality refresh, the annotation and COMMIT.
    assert (round_trips.count, round_trips.statements) == (3, 6)


def test_reads_sent_for_a_wrong_guess_of_the_tokens_person_are_not_used(
        client, ctx, owner, member_of, round_trips: RoundTrips) -> None:
    """The first reads go with the credential check for the organization and person the token was last found
    to be. With another person guessed, those reads serve nobody: the request reads again as itself."""
    project = _project(client, ctx, owner, n=4)
    annotator, other = member_of(owner, Role.annotator), member_of(owner, Role.annotator)
    held = _next(client, other, project).json()  # the other person holds a lease: a read as them would find it
    own = _next(client, annotator, project).json()  # (and the token's use is recorded: no write after this one)
    guesses = client.app.state.token_guesses
    digest = token_digest(annotator.headers["Authorization"].split(" ", 1)[1])
    guesses[digest] = (other.organization_id, other.user_id)

    round_trips.count = 0
    claimed = _next(client, annotator, project).json()
    assert claimed["lease"]["id"] == own["lease"]["id"] != held["lease"]["id"]  # their own lease, renewed
    # The guessed reads with the credential; the same reads as themselves; the renewal; the item; the ledger
    # entry and COMMIT.
    assert round_trips.count == 5
    assert guesses[digest] == (annotator.organization_id, annotator.user_id)

    assert _submit(client, annotator, claimed["item"]["id"]).status_code == 201
    round_trips.count = 0
    assert _next(client, annotator, project).status_code == 200
    assert round_trips.count == 3  # guessed right this time: a claim as in the test above


def test_reads_sent_for_another_organizations_person_are_not_used(
        client, ctx, factory, owner, member_of) -> None:  # type: ignore[no-untyped-def]
    """A guess naming a person of another organization (whose project has the same shape) reads that
    organization's rows ahead; none of them reaches the answer, which is the token holder's own."""
    ours = _project(client, ctx, owner, n=3)
    stranger = make_actor(factory, Role.owner)
    theirs = _project(client, ctx, stranger, n=3)
    annotator = member_of(owner, Role.annotator)
    _next(client, stranger, theirs)  # the stranger holds a lease in their own project
    _next(client, annotator, ours)  # (the token's use recorded)
    guesses = client.app.state.token_guesses
    digest = token_digest(annotator.token)
    guesses[digest] = (stranger.organization_id, stranger.user_id)

    answer = _next(client, annotator, ours)
    assert answer.status_code == 200 and answer.json()["item"]["project_id"] == ours["id"]
    assert guesses[digest] == (annotator.organization_id, annotator.user_id)

    guesses[digest] = (stranger.organization_id, stranger.user_id)  # wrong again, and the path names their project
    assert _next(client, annotator, theirs).status_code == 404  # read ahead as the stranger, found; not for them
