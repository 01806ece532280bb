"""Sign-in rate limiting and lockout, shared through the database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from labelvault.db.engine import transaction
from labelvault.errors import NotAuthenticated
from labelvault.security.throttle import Limits, TooManyAttempts, guarded_sign_in, keys_for


def _login(client, email, password):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_an_address_is_locked_after_five_failures_even_for_the_right_password(client, owner, member_of):
    for _ in range(5):
        assert _login(client, owner.email, "wrong-password").status_code == 401
    locked = _login(client, owner.email, owner.password)
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"
    assert locked.json()["details"]["retry_after"] > 800
    other = member_of(owner, owner.role)
    assert _login(client, other.email, other.password).status_code == 200


def test_unknown_addresses_lock_the_same_way(client):
    answers = [_login(client, "nobody@example.test", "x" * 12).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]


def test_a_success_clears_the_count_and_the_lock_ends(client, factory, owner):
    for _ in range(4):
        _login(client, owner.email, "wrong-password")
    assert _login(client, owner.email, owner.password).status_code == 200
    for _ in range(4):
        assert _login(client, owner.email, "wrong-password").status_code == 401
    _login(client, owner.email, "wrong-password")
    assert _login(client, owner.email, owner.password).status_code == 429
    with transaction(factory) as session:
        session.execute(text("UPDATE login_throttles SET locked_until = :t"),
                        {"t": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})
    assert _login(client, owner.email, owner.password).status_code == 200


def test_one_client_address_trying_many_accounts_is_locked(factory):
    limits = Limits(per_email=100, per_address=3, window=dt.timedelta(minutes=5), lockout=dt.timedelta(minutes=5))

    def wrong(_session):
        raise NotAuthenticated("E-mail or password is wrong.")

    for n in range(3):
        with pytest.raises(NotAuthenticated):
            guarded_sign_in(factory, limits, keys_for(f"user{n}@example.test", "203.0.113.9"), wrong)
    with pytest.raises(TooManyAttempts):
        guarded_sign_in(factory, limits, keys_for("fresh@example.test", "203.0.113.9"), wrong)
    with pytest.raises(NotAuthenticated):
        guarded_sign_in(factory, limits, keys_for("fresh@example.test", "198.51.100.1"), wrong)
