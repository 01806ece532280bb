"""A person made without a password (a restored one) cannot sign in with any password."""

from __future__ import annotations

import pytest

from labelvault.accounts import service as accounts
from labelvault.accounts.passwords import NO_PASSWORD, verify_password
from labelvault.db.engine import transaction
from labelvault.errors import NotAuthenticated


def test_a_person_without_a_password_cannot_sign_in(factory):
    with transaction(factory) as session:
        user = accounts.create_user(session, "restored@example.test", None)
        assert user.password_hash == NO_PASSWORD
    for attempt in ("", "!", NO_PASSWORD, "a long enough password"):
        assert not verify_password(NO_PASSWORD, attempt)
        with transaction(factory) as session, pytest.raises(NotAuthenticated):
            accounts.authenticate_password(session, "restored@example.test", attempt)
