"""Console fixtures: accounts made directly, and clients already signed in as an admin or an editor."""

from __future__ import annotations

from typing import Any

import pytest

from bot.console.accounts import create_account
from console_helpers import PASSWORD, login


@pytest.fixture
def make_account(services: Any):
    """Create an account (no forced password change) and return its id."""

    def make(username: str, *roles: str, password: str = PASSWORD, active: bool = True) -> int:
        with services.sessions() as db:
            account = create_account(db, username, password, roles)
            account.active = active
            db.commit()
            return account.id

    return make


@pytest.fixture
def admin(client: Any, make_account: Any) -> Any:
    """A client signed in as the admin "root"."""
    make_account("root", "admin")
    assert login(client, "root").status_code == 302
    return client


@pytest.fixture
def editor(client: Any, make_account: Any) -> Any:
    """A client signed in as the editor "wang"."""
    make_account("wang", "editor")
    assert login(client, "wang").status_code == 302
    return client
