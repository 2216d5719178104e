"""Test helpers for the webhook's gate: simulated clients in each mode and the "no effect" check."""
from __future__ import annotations

import pytest

from bot.emulator.client import SimClient
from bot.models import Follower

PATH = "/wechat"
PLAIN_OK = {"accepted_modes": ["aes", "plain"]}  # webhook settings of a migration window: plaintext accepted too


@pytest.fixture
def sim(app) -> SimClient:
    """A safe-mode (AES) client that only builds requests (the tests post them themselves)."""
    s = app.extensions["bot"].settings
    return SimClient("http://unused", s.token, s.aes_key, s.appid, mode="safe")


@pytest.fixture
def plain(app) -> SimClient:
    """A plaintext-mode client that only builds requests."""
    s = app.extensions["bot"].settings
    return SimClient("http://unused", s.token, mode="plain")


def nothing_stored(services) -> bool:
    """A refused request reached no handler and no store."""
    with services.sessions() as db:
        followers = db.query(Follower).count()
    return services.redis.dbsize() == 0 and followers == 0
