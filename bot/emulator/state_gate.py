"""What every fake API call passes first: injected errors, the access token, call quotas; and issuing tokens."""

from __future__ import annotations

import secrets
import time
from typing import NamedTuple

import redis

from bot.emulator.keys import (
    INJECT,
    QUOTA,
    STABLE_CURRENT,
    STABLE_FORCE_INTERVAL,
    STABLE_FORCED,
    TOKEN,
    TOKEN_CURRENT,
    TOKEN_GRACE,
    TOKEN_MEMORY,
    TOKEN_TTL,
)


class Quota(NamedTuple):
    """At most `limit` calls per `period` seconds under `name`; beyond it WeChat answers `errcode`."""

    name: str
    limit: int
    period: int
    errcode: int


def api_path(path: str) -> str:
    """An API path as the emulator keys it: "message/custom/send" (no slash, emulator/ or cgi-bin/ prefix)."""
    path = path.strip().lstrip("/")
    for prefix in ("emulator/", "cgi-bin/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    return path


class GateMixin:
    """Tokens, error injection and quotas of EmulatorState."""

    redis: redis.Redis

    # Error injection -------------------------------------------------------
    def inject(self, path: str, errcode: int, times: int = 1) -> None:
        """The next `times` calls to `path` (e.g. "message/custom/send") answer `errcode`."""
        if times > 0:
            self.redis.rpush(INJECT.format(api_path(path)), *[int(errcode)] * times)

    # The gate --------------------------------------------------------------
    def gate(self, path: str, token: str | None, quotas: tuple[Quota, ...] = ()) -> int:
        """0 if a call may proceed, else its errcode: injected, 41001/40001/42001 for the token, quota codes."""
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.lpop(INJECT.format(api_path(path)))
        pipe.get(TOKEN.format(token or ""))
        for q in quotas:
            key = QUOTA.format(q.name, int(now // q.period))
            pipe.incr(key)
            pipe.expire(key, q.period + 60)
        injected, expiry, *counts = pipe.execute()
        if injected is not None:
            return int(injected)
        code = 0 if token is None else token_code(token, expiry, now)
        return code or quota_code(quotas, counts[::2])

    def quota_used(self, name: str, period: int) -> int:
        """Calls counted under quota `name` in the current period."""
        return int(self.redis.get(QUOTA.format(name, int(time.time() // period))) or 0)

    # Tokens ------------------------------------------------------------------
    def issue_token(self) -> tuple[str, int]:
        """A new /token token (value, expires_in); the previous one stays valid TOKEN_GRACE seconds more."""
        now = time.time()
        value = self.new_token(now)
        old = self.redis.getset(TOKEN_CURRENT, value)
        if old:
            self.supersede(old, now)
        return value, TOKEN_TTL

    def stable_token(self, force: bool = False) -> tuple[int, str, int]:
        """(errcode, token, expires_in) of /stable_token: the same token while valid; a forced refresh every 30 s."""
        now = time.time()
        current = self.redis.get(STABLE_CURRENT)
        expiry = float(self.redis.get(TOKEN.format(current)) or 0) if current else 0.0
        if not force and expiry > now:
            return 0, str(current), int(expiry - now)
        if force and not self.redis.set(STABLE_FORCED, "1", nx=True, ex=STABLE_FORCE_INTERVAL):
            return 45009, "", 0
        value = self.new_token(now)
        self.redis.set(STABLE_CURRENT, value)
        if current and force:
            self.redis.delete(TOKEN.format(current))  # a forced refresh invalidates the previous token at once
        return 0, value, TOKEN_TTL

    def new_token(self, now: float) -> str:
        value = secrets.token_urlsafe(96)
        self.redis.set(TOKEN.format(value), repr(now + TOKEN_TTL), ex=TOKEN_TTL + TOKEN_MEMORY)
        return value

    def supersede(self, token: str, now: float) -> None:
        """A replaced token answers 40001 after TOKEN_GRACE seconds (or expires earlier on its own)."""
        expiry = float(self.redis.get(TOKEN.format(token)) or 0)
        if expiry > now + TOKEN_GRACE:
            self.redis.set(TOKEN.format(token), repr(expiry), ex=TOKEN_GRACE)

    def expire_token(self, token: str) -> None:
        """Make `token` expired (answers 42001), as if 7200 s had passed."""
        self.redis.set(TOKEN.format(token), repr(time.time() - 1), keepttl=True)

    def current_token(self) -> str | None:
        """The newest token /token handed out."""
        return self.redis.get(TOKEN_CURRENT)


def token_code(token: str, expiry: str | None, now: float) -> int:
    """41001 missing, 40001 unknown or replaced, 42001 expired, else 0."""
    if not token:
        return 41001
    if expiry is None:
        return 40001
    return 42001 if float(expiry) <= now else 0


def quota_code(quotas: tuple[Quota, ...], counts: list[int]) -> int:
    """The errcode of the first quota exceeded by this call, else 0."""
    for q, count in zip(quotas, counts, strict=True):
        if int(count) > q.limit:
            return q.errcode
    return 0
