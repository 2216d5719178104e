"""Test helpers for the webhook's gate (tests/inbound/): its path, the plaintext-window settings, "no effect"."""

from __future__ import annotations

from typing import Any

from bot.core.database import Follower

PATH = "/wechat"
PLAIN_OK = {"accepted_modes": ["aes", "plain"]}  # webhook settings of a migration window: plaintext accepted too


def nothing_stored(services: Any) -> bool:
    """A refused request reached no handler and no store."""
    with services.sessions() as db:
        followers = db.query(Follower).count()
    return services.redis.dbsize() == 0 and followers == 0
